// The listening socket: created where the config says, never stolen from a live server,
// and given the configured mode so only kubelet's group can drive runtimes.
import { chmod, chown, lstat, mkdir, readFile, unlink } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';

export class SocketInUseError extends Error {}

/** Make `socketPath` bindable: parent created, a stale socket removed, a live one refused. */
export async function prepareSocket(socketPath: string): Promise<void> {
  await mkdir(path.dirname(socketPath), { recursive: true, mode: 0o755 });
  let stat;
  try {
    stat = await lstat(socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!stat.isSocket()) {
    throw new SocketInUseError(`${socketPath} exists and is not a socket; remove it or choose another listen.socket`);
  }
  if (await answers(socketPath)) {
    throw new SocketInUseError(`another process is already serving on ${socketPath}; stop it (is cri-mux already running?) or choose another listen.socket`);
  }
  await unlink(socketPath); // stale: left by a process that died
}

function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const conn = net.connect(socketPath);
    const done = (live: boolean): void => {
      conn.destroy();
      resolve(live);
    };
    conn.once('connect', () => done(true));
    conn.once('error', () => done(false));
    conn.setTimeout(1000, () => done(true)); // something holds it but is slow: do not steal it
  });
}

/**
 * Run `bind` with a umask that makes the socket 0600: between bind(2) and the chmod that
 * applies listen.mode, a process with umask 000 would otherwise leave it 0777, and a local
 * user who connects in that moment keeps a root-equivalent connection after the chmod.
 * (Worker threads cannot change the umask; cri-mux binds on the main thread.)
 */
export async function bindPrivately<T>(bind: () => Promise<T>): Promise<T> {
  if (!isMainThread) return bind();
  const old = process.umask(0o177);
  try {
    return await bind();
  } finally {
    process.umask(old);
  }
}

/** Mode, and the group that may use the socket. */
export async function applySocketAccess(socketPath: string, mode: number, gid: number | undefined): Promise<void> {
  if (gid !== undefined) await chown(socketPath, -1, gid);
  await chmod(socketPath, mode);
}

/** A configured group as a gid (a name is looked up in /etc/group); resolved before binding. */
export async function resolveGroup(group: string | number | undefined): Promise<number | undefined> {
  return typeof group === 'string' ? gidOf(group) : group;
}

async function gidOf(name: string): Promise<number> {
  const groups = await readFile('/etc/group', 'utf8');
  for (const line of groups.split('\n')) {
    const [groupName, , gid] = line.split(':');
    if (groupName === name && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  throw new Error(`listen.group: no group named "${name}" in /etc/group; create it or give a numeric gid`);
}
