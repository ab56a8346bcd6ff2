// The real-runtime environment for e2e tests: a thin TS wrapper around scripts/runtimes.sh,
// which is the one implementation shared with CI and `npm run demo`.
//
//   const env = await startRuntimeEnv(await makeStateDir());   // registry + containerd a, b
//   ... new CriClient(env.instances[0].socket) ...
//   await env.stop();                                           // down + delete the state dir
import { execFile, execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { findRepoRoot } from './repo-root.js';

const execFileAsync = promisify(execFile);

export const RUNTIMES_SCRIPT = join(findRepoRoot(import.meta.url), 'scripts', 'runtimes.sh');

/** The tools scripts/runtimes.sh needs (Debian packages in parentheses in the README/report). */
export const REQUIRED_TOOLS = [
  'containerd',
  'containerd-shim-runc-v2',
  'ctr',
  'runc',
  'skopeo',
  'umoci',
  'docker-registry',
  'busybox',
  'ip',
] as const;

/** One containerd instance, as written to STATE_DIR/env.json by `runtimes.sh up`. */
export interface RuntimeInstance {
  name: string;
  /** Absolute path of the CRI (and containerd) socket. */
  socket: string;
  /** `unix://` + socket. */
  endpoint: string;
  root: string;
  state: string;
  /** A directory for pod logs (PodSandboxConfig.log_directory) that `down` leaves alone. */
  logDir: string;
  /** containerd's own log file. */
  daemonLog: string;
  pidFile: string;
  pid: number;
  config: string;
  bridge: string;
  subnet: string;
  snapshotter: string;
}

/** STATE_DIR/env.json. */
export interface RuntimeEnvInfo {
  stateDir: string;
  slot: number;
  /** host:port of the local registry (plain http, 127.0.0.1 only). */
  registry: string;
  images: { busybox: string; pause: string };
  instances: RuntimeInstance[];
}

export interface StopOptions {
  /** Keep STATE_DIR (logs, configs) after `down`; default: the CRI_MUX_KEEP_STATE env var. */
  keepStateDir?: boolean;
}

export interface RuntimeEnv extends RuntimeEnvInfo {
  /** The instance with this name ('a', 'b', …); throws if there is none. */
  instance(name: string): RuntimeInstance;
  /** Output of `runtimes.sh status`. */
  status(): Promise<string>;
  /** `runtimes.sh down`, then deletes STATE_DIR unless kept. Safe to call twice. */
  stop(opts?: StopOptions): Promise<void>;
}

export interface StartOptions {
  /** Number of containerd instances (default 2). */
  instances?: number;
  /** Limit for `up` (default 180 s; it takes a few seconds on a warm machine). */
  timeoutMs?: number;
}

function onPath(tool: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/sbin'])) {
    if (!dir) continue;
    try {
      accessSync(join(dir, tool), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/** What is missing for the real-runtime environment on this machine (empty when all is there). */
export function missingRuntimePrerequisites(): string[] {
  const missing: string[] = [];
  if (process.platform !== 'linux') missing.push('Linux');
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) missing.push('root');
  for (const tool of REQUIRED_TOOLS) if (!onPath(tool)) missing.push(tool);
  try {
    accessSync('/usr/lib/cni/bridge', constants.X_OK);
  } catch {
    missing.push('/usr/lib/cni/bridge (containernetworking-plugins)');
  }
  return missing;
}

/**
 * Whether the e2e tests that need real runtimes should run here: root and every tool present.
 * Under CI (CI set) or CRI_MUX_E2E=1 it is always true, so a broken CI machine fails loudly
 * instead of skipping; CRI_MUX_E2E=0 skips them anywhere.
 */
export function realRuntimesAvailable(): boolean {
  const forced = process.env.CRI_MUX_E2E;
  if (forced === '0') return false;
  if (forced === '1' || (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false')) {
    return true;
  }
  return missingRuntimePrerequisites().length === 0;
}

/** A fresh state directory under the system temp dir (short: socket paths must fit 108 bytes). */
export function makeStateDir(prefix = 'cri-mux-e2e-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Runs scripts/runtimes.sh with the given arguments; rejects with its stderr on failure. */
export async function runRuntimesScript(
  args: string[],
  timeoutMs = 180_000,
): Promise<{ stdout: string; stderr: string }> {
  try {
    return await execFileAsync('bash', [RUNTIMES_SCRIPT, ...args], {
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
      maxBuffer: 16 * 1024 * 1024,
      encoding: 'utf8',
    });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message?: string };
    throw new Error(
      `runtimes.sh ${args.join(' ')} failed: ${e.message ?? String(err)}\n${e.stdout ?? ''}${e.stderr ?? ''}`,
    );
  }
}

/** Parses STATE_DIR/env.json. */
export async function readEnvInfo(stateDir: string): Promise<RuntimeEnvInfo> {
  const raw: unknown = JSON.parse(await readFile(join(stateDir, 'env.json'), 'utf8'));
  const info = raw as RuntimeEnvInfo;
  if (typeof info.registry !== 'string' || !Array.isArray(info.instances) || info.instances.length === 0) {
    throw new Error(`${stateDir}/env.json does not look like a runtimes.sh environment`);
  }
  return info;
}

/**
 * `runtimes.sh up STATE_DIR N`, then env.json plus `stop()`. If `up` fails, whatever it had
 * started is taken down again before the error is thrown (the state dir is kept for its logs).
 */
export async function startRuntimeEnv(stateDir: string, opts: StartOptions = {}): Promise<RuntimeEnv> {
  const n = opts.instances ?? 2;
  try {
    await runRuntimesScript(['up', stateDir, String(n)], opts.timeoutMs ?? 180_000);
  } catch (err) {
    await runRuntimesScript(['down', stateDir], 120_000).catch(() => undefined);
    throw err;
  }
  const info = await readEnvInfo(stateDir);

  let stopped = false;
  // Safety net: a test run that exits without afterAll (crash, bail) must not leave daemons.
  const onExit = (): void => {
    if (stopped) return;
    try {
      execFileSync('bash', [RUNTIMES_SCRIPT, 'down', stateDir], { stdio: 'ignore', timeout: 120_000 });
    } catch {
      // nothing more we can do while exiting
    }
  };
  process.once('exit', onExit);

  return {
    ...info,
    instance(name: string): RuntimeInstance {
      const found = info.instances.find((i) => i.name === name);
      if (!found) throw new Error(`no runtime instance '${name}' in ${stateDir}`);
      return found;
    },
    async status(): Promise<string> {
      // status exits non-zero when something is down; the text is what callers want.
      return execFileAsync('bash', [RUNTIMES_SCRIPT, 'status', stateDir], { encoding: 'utf8' }).then(
        (r) => r.stdout,
        (err: unknown) => (err as { stdout?: string }).stdout ?? String(err),
      );
    },
    async stop(stopOpts: StopOptions = {}): Promise<void> {
      if (stopped) return;
      await runRuntimesScript(['down', stateDir], 120_000);
      stopped = true;
      process.removeListener('exit', onExit);
      const keep = stopOpts.keepStateDir ?? (process.env.CRI_MUX_KEEP_STATE ?? '') !== '';
      if (!keep) await rm(stateDir, { recursive: true, force: true });
    },
  };
}
