// The real binary (dist/src/main.js, built by `npm test`) with fake runtimes: the metrics
// endpoint comes up, logrotate's signals reopen the audit file without killing the proxy,
// the process log stays quiet at info under traffic, and config errors reach it as JSON.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CriClient } from '../support/cri-client.js';
import { findRepoRoot } from '../support/repo-root.js';
import { startFakeRuntime, type FakeRuntime } from '../support/fake-runtime.js';

const ROOT = findRepoRoot(import.meta.url);
const MAIN = path.join(ROOT, 'dist', 'src', 'main.js');
// Only a build that has the observability wiring can be tested here (npm test builds first).
const built = existsSync(path.join(ROOT, 'dist', 'src', 'observability', 'observability.js'));
if (!built) console.warn('skipping observability CLI tests: run `npm run build` first');

interface Running {
  child: ChildProcess;
  stderr: () => string;
  lines: () => Record<string, unknown>[];
  exited: Promise<number | null>;
}

function run(args: string[]): Running {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines = () =>
    err
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { child, stderr: () => err, lines, exited };
}

async function until<T>(what: string, fn: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!built)('cri-mux serve: observability of the real process', () => {
  let dir: string;
  let fakes: FakeRuntime[] = [];
  let proc: Running | undefined;
  let client: CriClient | undefined;

  afterEach(async () => {
    client?.close();
    if (proc && proc.child.exitCode === null) {
      proc.child.kill('SIGKILL');
      await proc.exited;
    }
    await Promise.all(fakes.map((f) => f.stop()));
    fakes = [];
    rmSync(dir, { recursive: true, force: true });
  });

  async function serve(extra = ''): Promise<{ audit: string; metricsUrl: string; socket: string }> {
    dir = mkdtempSync(path.join(tmpdir(), 'cri-mux-cli-'));
    fakes = [
      await startFakeRuntime({ name: 'containerd', socketPath: path.join(dir, 'containerd.sock') }),
      await startFakeRuntime({ name: 'kata', socketPath: path.join(dir, 'kata.sock') }),
    ];
    const socket = path.join(dir, 'mux', 'cri-mux.sock');
    const audit = path.join(dir, 'log', 'audit.log');
    const config = path.join(dir, 'cri-mux.yaml');
    writeFileSync(
      config,
      [
        'listen:',
        `  socket: ${socket}`,
        'backends:',
        `  - { name: containerd, endpoint: "unix://${fakes[0]!.socketPath}", default: true }`,
        `  - { name: kata, endpoint: "unix://${fakes[1]!.socketPath}", optional: true }`,
        'metrics: { address: "127.0.0.1:0" }',
        'log: { level: info }',
        `audit: { path: ${audit} }`,
        extra,
      ].join('\n'),
    );
    proc = run(['serve', '--config', config]);
    const obs = await until('the observability line', () => proc!.lines().find((l) => l['msg'] === 'observability'));
    client = new CriClient(socket);
    return { audit, metricsUrl: String(obs['metrics']), socket };
  }

  const pod = (name: string) => ({ config: { metadata: { name, namespace: 'default', uid: name } } });
  const names = (file: string) =>
    readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { pod: { name: string } }).pod.name);

  it('reopens the audit file on SIGHUP and SIGUSR2 and keeps serving', async () => {
    const { audit, metricsUrl } = await serve();
    expect((await fetch(`${metricsUrl}/readyz`)).status).toBe(200);
    await client!.call('RuntimeService', 'RunPodSandbox', pod('one'));
    renameSync(audit, `${audit}.1`);
    proc!.child.kill('SIGHUP');
    await until('reopen after SIGHUP', () => proc!.lines().find((l) => l['msg'] === 'audit log reopened' && l['why'] === 'SIGHUP'));
    await client!.call('RuntimeService', 'RunPodSandbox', pod('two'));
    renameSync(audit, `${audit}.2`);
    proc!.child.kill('SIGUSR2');
    await until('reopen after SIGUSR2', () => proc!.lines().find((l) => l['msg'] === 'audit log reopened' && l['why'] === 'SIGUSR2'));
    await client!.call('RuntimeService', 'RunPodSandbox', pod('three'));
    expect(names(`${audit}.1`)).toEqual(['one']);
    expect(names(`${audit}.2`)).toEqual(['two']);
    expect(names(audit)).toEqual(['three']);
    expect(proc!.child.exitCode).toBeNull();

    const metrics = await (await fetch(`${metricsUrl}/metrics`)).text();
    expect(metrics).toContain('crimux_audit_events_written_total 3');

    proc!.child.kill('SIGTERM');
    expect(await proc!.exited).toBe(0);
  });

  it('stays quiet at info under normal traffic: start-up lines only', async () => {
    await serve();
    for (let i = 0; i < 20; i++) {
      await client!.call('RuntimeService', 'RunPodSandbox', pod(`p${i}`));
      await client!.call('RuntimeService', 'ListPodSandbox', {});
      await client!.call('RuntimeService', 'Status', {});
    }
    proc!.child.kill('SIGTERM');
    await proc!.exited;
    expect(proc!.lines().map((l) => l['msg'])).toEqual(['cri-mux is serving', 'observability', 'shutting down', 'stopped']);
    const serving = proc!.lines()[0]!;
    expect(serving['backends']).toEqual([
      expect.objectContaining({ name: 'containerd', health: 'up', version: 'containerd 1.0.0-fake', role: 'default' }),
      expect.objectContaining({ name: 'kata', health: 'up', version: 'kata 1.0.0-fake', role: 'optional' }),
    ]);
  });

  it('logs backend transitions: down, then up again', async () => {
    await serve('failure: { probeInterval: 100ms }');
    await fakes[1]!.stop();
    await until('kata down', () => proc!.lines().find((l) => l['msg'] === 'backend is down' && l['backend'] === 'kata'));
    await fakes[1]!.restart();
    await until('kata up', () => proc!.lines().find((l) => l['msg'] === 'backend is up' && l['backend'] === 'kata'));
    expect(proc!.lines().find((l) => l['msg'] === 'backend is down')!['level']).toBe(40);
  });

  it('reports config errors in the process log, with file and line, and exits 2', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cri-mux-cli-'));
    const config = path.join(dir, 'bad.yaml');
    writeFileSync(config, 'backends:\n  - name: a\n    endpoint: unix:///x.sock\n    default: true\naudit:\n  levels:\n    NoSuchRpc: Request\n');
    proc = run(['serve', '--config', config]);
    expect(await proc.exited).toBe(2);
    const fatal = proc.lines().find((l) => l['msg'] === 'invalid config; not serving');
    expect(fatal).toMatchObject({ level: 60, file: config });
    expect(fatal!['problems']).toEqual([expect.stringMatching(/bad\.yaml:7: audit\.levels\.NoSuchRpc: no CRI method/)]);
  });
});
