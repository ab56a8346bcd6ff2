// The audit file: appends, reports each write's fate, reopens after rotation.
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditFile } from '../../../src/observability/audit-file.js';

describe('AuditFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'audit-file-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('appends to what is there, creating the directory, file mode 0600', async () => {
    const file = path.join(dir, 'sub', 'audit.log');
    const a = new AuditFile(file);
    expect(a.open()).toBe(true);
    a.write('{"n":1}\n');
    expect(a.lastWriteOk).toBe(true);
    a.close();
    const b = new AuditFile(file);
    b.write('{"n":2}\n');
    b.close();
    expect(readFileSync(file, 'utf8')).toBe('{"n":1}\n{"n":2}\n');
    const { statSync } = await import('node:fs');
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('reopen continues in a new file at the path; the old descriptor is closed', () => {
    const file = path.join(dir, 'audit.log');
    const a = new AuditFile(file);
    a.open();
    a.write('old\n');
    renameSync(file, `${file}.1`);
    a.write('still old\n');
    expect(a.reopen()).toBe(true);
    a.write('new\n');
    a.close();
    expect(readFileSync(`${file}.1`, 'utf8')).toBe('old\nstill old\n');
    expect(readFileSync(file, 'utf8')).toBe('new\n');
  });

  it('a failed reopen keeps writing to the old file', () => {
    const file = path.join(dir, 'd', 'audit.log');
    const a = new AuditFile(file);
    a.open();
    renameSync(path.join(dir, 'd'), path.join(dir, 'd.moved'));
    writeFileSync(path.join(dir, 'd'), ''); // the directory is now a file: cannot reopen
    expect(a.reopen()).toBe(false);
    expect(a.lastError).toMatch(/EEXIST|ENOTDIR/);
    a.write('kept\n');
    expect(a.lastWriteOk).toBe(true);
    a.close();
    expect(readFileSync(path.join(dir, 'd.moved', 'audit.log'), 'utf8')).toBe('kept\n');
  });

  it('continues in a new file when the file, or its whole directory, is deleted under it', () => {
    const file = path.join(dir, 'd', 'audit.log');
    const a = new AuditFile(file);
    a.open();
    a.write('one\n');
    rmSync(file);
    a.write('two\n');
    expect(a.lastWriteOk).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe('two\n');
    rmSync(path.join(dir, 'd'), { recursive: true });
    a.write('three\n');
    expect(readFileSync(file, 'utf8')).toBe('three\n');
    // Deleted and cannot be created again: the event is lost, and the caller is told.
    rmSync(path.join(dir, 'd'), { recursive: true });
    writeFileSync(path.join(dir, 'd'), '');
    a.write('four\n');
    expect(a.lastWriteOk).toBe(false);
    expect(a.ok).toBe(false);
    a.close();
  });

  it('reports an unopenable path and a full device, and retries on the next write', () => {
    const blocker = path.join(dir, 'file');
    writeFileSync(blocker, '');
    const a = new AuditFile(path.join(blocker, 'audit.log'));
    expect(a.open()).toBe(false);
    expect(a.ok).toBe(false);
    a.write('x\n');
    expect(a.lastWriteOk).toBe(false);
    rmSync(blocker);
    a.write('y\n'); // the parent can be created now
    expect(a.lastWriteOk).toBe(true);
    expect(a.ok).toBe(true);
    a.close();

    const full = new AuditFile('/dev/full');
    expect(full.open()).toBe(true);
    full.write('z\n');
    expect(full.lastWriteOk).toBe(false);
    expect(full.lastError).toMatch(/ENOSPC/);
    full.close();
  });
});
