// A write the disk cuts short (ENOSPC, EFBIG after part of the line went out) must not
// leave half an event in the file: every line of an audit log is one JSON document.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const disk = vi.hoisted(() => ({ cutAfter: undefined as number | undefined }));

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const writeSync = (fd: number, buf: Buffer, offset: number, length: number): number => {
    if (disk.cutAfter === undefined) return fs.writeSync(fd, buf, offset, length);
    // Like a disk that fills up mid-line: some bytes go out, the next write fails.
    if (disk.cutAfter > 0) {
      const n = fs.writeSync(fd, buf, offset, Math.min(length, disk.cutAfter));
      disk.cutAfter = 0;
      return n;
    }
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  };
  return { ...fs, default: { ...fs, writeSync }, writeSync };
});

const { AuditFile } = await import('../../../src/observability/audit-file.js');

describe('AuditFile, disk full half-way through a line', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'audit-torn-'));
  });
  afterEach(() => {
    disk.cutAfter = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('takes the partial line back, reports the drop, and the file stays one JSON document per line', () => {
    const file = path.join(dir, 'audit.log');
    const a = new AuditFile(file);
    a.open();
    a.write('{"n":1}\n');
    disk.cutAfter = 10;
    a.write(`{"n":2,"pad":"${'x'.repeat(100)}"}\n`);
    expect(a.lastWriteOk).toBe(false);
    expect(a.lastError).toMatch(/ENOSPC/);
    disk.cutAfter = undefined;
    a.write('{"n":3}\n');
    expect(a.lastWriteOk).toBe(true);
    a.close();
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual([{ n: 1 }, { n: 3 }]);
  });
});
