// cri-mux as a real process (dist/src/main.js serve) in front of the real runtimes of a
// runtime env: what the e2e tests kill, restart and read the process log of.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CriClient } from './cri-client.js';
import { eventually } from './eventually.js';
import { findRepoRoot } from './repo-root.js';
import type { RuntimeEnvInfo } from './runtime-env.js';

export const MAIN = join(findRepoRoot(import.meta.url), 'dist', 'src', 'main.js');

/**
 * Writes a config for cri-mux on `socket` with backends a (default) and b of `env`, any
 * annotation allowed; `extra` lines are appended (top-level keys). Returns its path.
 */
export async function writeMuxConfig(env: RuntimeEnvInfo, socket: string, extra: string[] = []): Promise<string> {
  const [a, b] = env.instances;
  if (!a || !b) throw new Error('the runtime env needs instances a and b');
  const path = join(env.stateDir, 'cri-mux.yaml');
  await writeFile(
    path,
    [
      `listen: { socket: ${socket} }`,
      'backends:',
      `  - { name: a, endpoint: "${a.endpoint}", default: true }`,
      `  - { name: b, endpoint: "${b.endpoint}" }`,
      'routing: { annotationBackends: [a, b] }',
      ...extra,
    ].join('\n'),
  );
  return path;
}

export interface MuxProcess {
  readonly child: ChildProcess;
  readonly client: CriClient;
  /** Everything the process wrote on stderr (its JSON process log). */
  log(): string;
  /** SIGKILL, and wait for the exit. */
  crash(): Promise<void>;
  /** SIGTERM, and wait for the exit. */
  stop(): Promise<void>;
}

export async function spawnMux(configPath: string, socket: string): Promise<MuxProcess> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does)`);
  const child = spawn(process.execPath, [MAIN, 'serve', '--config', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (b: Buffer) => (log += b.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await eventually('the cri-mux socket', async () => (existsSync(socket) && child.exitCode === null ? true : undefined), 20_000);
  const client = new CriClient(socket);
  await client.waitForReady(10_000);
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    client.close();
    if (child.exitCode === null) child.kill(signal);
    await exited;
  };
  return { child, client, log: () => log, crash: () => end('SIGKILL'), stop: () => end('SIGTERM') };
}
