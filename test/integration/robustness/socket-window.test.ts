// The CRI socket drives runtimes as root: no moment may exist in which a user outside
// listen.mode can connect (a connection made then stays open after the chmod).
import { afterEach, expect, it, vi } from 'vitest';

const seen = vi.hoisted(() => ({ modes: [] as number[] }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  const chmod = async (p: Parameters<typeof fs.chmod>[0], mode: Parameters<typeof fs.chmod>[1]): Promise<void> => {
    seen.modes.push((await fs.lstat(p)).mode & 0o777); // the socket as it was until now
    return fs.chmod(p, mode);
  };
  return { ...fs, chmod, default: { ...fs, chmod } };
});

const { startMux } = await import('../../support/mux-harness.js');
let close: (() => Promise<void>) | undefined;
afterEach(() => close?.());

it('the socket is never reachable by group or others before listen.mode applies, whatever the umask', async () => {
  const old = process.umask(0); // a service manager or shell with umask 000
  try {
    const mux = await startMux({ backends: [{ name: 'a' }] });
    close = () => mux.close();
    expect(seen.modes.length).toBeGreaterThan(0);
    for (const mode of seen.modes) expect(mode & 0o077).toBe(0);
  } finally {
    process.umask(old);
  }
});
