// npm run bench: cri-mux against a direct call to the same backend, in the same run, and
// against a bare grpc-js pass-through (bench/bare-proxy.ts: the cost of any extra hop).
// The backend (a fake CRI runtime) and each proxy run in their own process; this process
// is the client. Rounds alternate between the paths so drift hits all alike.
// Reported: calls/s and latency percentiles each way, and throughput ratios to direct.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { CriSchema } from '../src/cri/schema.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const schema = new CriSchema();
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 4);
const CALLS = Number(process.env['BENCH_CALLS'] ?? 1500);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 8);
const PODS = Number(process.env['BENCH_PODS'] ?? 200);

interface Stat {
  rate: number;
  p50: number;
  p99: number;
}

interface Scenario {
  name: string;
  method: string;
  service: 'RuntimeService' | 'ImageService';
  request: Buffer;
}

function client(socket: string): grpc.Client {
  return new grpc.Client(`unix://${socket}`, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': 64 << 20 });
}

function call(c: grpc.Client, s: Scenario): Promise<void> {
  return new Promise((resolve, reject) => {
    c.makeUnaryRequest(`/runtime.v1.${s.service}/${s.method}`, (b: Buffer) => b, (b: Buffer) => b, s.request, new grpc.Metadata(), { deadline: Date.now() + 30_000 }, (err) => (err ? reject(err) : resolve()));
  });
}

/** CALLS calls with CONCURRENCY in flight; returns per-call latencies (ms) and the wall time. */
async function run(c: grpc.Client, s: Scenario): Promise<{ latencies: number[]; seconds: number }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < CALLS) {
        next++;
        const t = performance.now();
        await call(c, s);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { latencies, seconds: (performance.now() - started) / 1000 };
}

const pct = (xs: number[], p: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

function startChild(args: string[]): ChildProcess {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  child.on('exit', (code) => {
    if (code) process.stderr.write(`bench child ${args[0]} exited ${code}\n`);
  });
  return child;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'cri-mux-bench-'));
  const backendSocket = path.join(dir, 'backend.sock');
  const proxySocket = path.join(dir, 'mux.sock');
  const bareSocket = path.join(dir, 'bare.sock');
  const backend = startChild([path.join(here, 'backend.js'), backendSocket, String(PODS)]);
  const ids = JSON.parse(await new Promise<string>((resolve) => createInterface({ input: backend.stdout! }).once('line', resolve))) as { pod: string; container: string };
  const config = path.join(dir, 'cri-mux.yaml');
  writeFileSync(config, `listen: { socket: ${proxySocket} }\nbackends:\n  - { name: bench, endpoint: "unix://${backendSocket}", default: true }\nmetrics: { enabled: false }\nlog: { level: warn }\n`);
  // BENCH_PROXY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the proxy alone.
  const nodeArgs = (process.env['BENCH_PROXY_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  const proxy = startChild([...nodeArgs, path.join(here, '..', 'src', 'main.js'), 'serve', '--config', config]);
  const bare = startChild([path.join(here, 'bare-proxy.js'), bareSocket, backendSocket]);
  for (let i = 0; i < 100 && !(existsSync(proxySocket) && existsSync(bareSocket)); i++) await new Promise((r) => setTimeout(r, 100));

  const scenarios: Scenario[] = [
    { name: 'PodSandboxStatus (by sandbox id)', method: 'PodSandboxStatus', service: 'RuntimeService', request: schema.encode('PodSandboxStatusRequest', { pod_sandbox_id: ids.pod }) },
    { name: 'ContainerStatus (by container id)', method: 'ContainerStatus', service: 'RuntimeService', request: schema.encode('ContainerStatusRequest', { container_id: ids.container }) },
    { name: 'ExecSync (by container id)', method: 'ExecSync', service: 'RuntimeService', request: schema.encode('ExecSyncRequest', { container_id: ids.container, cmd: ['true'] }) },
    { name: `ListPodSandbox (fan-out, ${PODS} pods)`, method: 'ListPodSandbox', service: 'RuntimeService', request: Buffer.alloc(0) },
    { name: 'ListContainers filtered by pod (narrowed to owner)', method: 'ListContainers', service: 'RuntimeService', request: schema.encode('ListContainersRequest', { filter: { pod_sandbox_id: ids.pod } }) },
    { name: 'ImageStatus (image lookup)', method: 'ImageStatus', service: 'ImageService', request: schema.encode('ImageStatusRequest', { image: { image: 'bench/image:1' } }) },
  ];
  const direct = client(backendSocket);
  const viaProxy = client(proxySocket);
  const viaBare = client(bareSocket);
  process.stdout.write(`cri-mux bench: ${ROUNDS} rounds × ${CALLS} calls, ${CONCURRENCY} in flight, node ${process.version}\n\n`);
  process.stdout.write(
    '| call | direct calls/s | cri-mux calls/s | bare hop calls/s | cri-mux / direct | bare hop / direct | direct p50 ms | cri-mux p50 ms | bare hop p50 ms | direct p99 ms | cri-mux p99 ms |\n' +
      '|---|---|---|---|---|---|---|---|---|---|---|\n',
  );
  for (const s of scenarios) {
    const targets = [direct, viaProxy, viaBare] as const;
    for (const t of targets) await run(t, s); // warm every path
    const results = targets.map(() => ({ latencies: [] as number[], seconds: 0 }));
    for (let r = 0; r < ROUNDS; r++) {
      for (const [i, t] of targets.entries()) {
        const res = await run(t, s);
        results[i]!.latencies.push(...res.latencies);
        results[i]!.seconds += res.seconds;
      }
    }
    const [d, p, b] = results.map((x) => ({ rate: x.latencies.length / x.seconds, p50: pct(x.latencies, 50), p99: pct(x.latencies, 99) })) as [Stat, Stat, Stat];
    const f = (x: number): string => x.toFixed(x < 10 ? 2 : 0);
    process.stdout.write(
      `| ${s.name} | ${f(d.rate)} | ${f(p.rate)} | ${f(b.rate)} | ${(p.rate / d.rate).toFixed(2)} | ${(b.rate / d.rate).toFixed(2)} | ${f(d.p50)} | ${f(p.p50)} | ${f(b.p50)} | ${f(d.p99)} | ${f(p.p99)} |\n`,
    );
  }
  direct.close();
  viaProxy.close();
  viaBare.close();
  bare.kill('SIGTERM');
  proxy.kill('SIGTERM');
  backend.kill('SIGTERM');
  await new Promise((r) => proxy.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${String(err)}\n`);
  process.exit(1);
});
