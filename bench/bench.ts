// npm run bench: cri-mux against a direct call to the same backend, in the same run.
// The backend (a fake CRI runtime) and the proxy each run in their own process; this
// process is the client. Direct and proxied rounds alternate so drift hits both alike.
// Reported: calls/s and latency percentiles each way, and the ratios (proxy / direct).
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
  const backend = startChild([path.join(here, 'backend.js'), backendSocket, String(PODS)]);
  const ids = JSON.parse(await new Promise<string>((resolve) => createInterface({ input: backend.stdout! }).once('line', resolve))) as { pod: string; container: string };
  const config = path.join(dir, 'cri-mux.yaml');
  writeFileSync(config, `listen: { socket: ${proxySocket} }\nbackends:\n  - { name: bench, endpoint: "unix://${backendSocket}", default: true }\nmetrics: { enabled: false }\nlog: { level: warn }\n`);
  // BENCH_PROXY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the proxy alone.
  const nodeArgs = (process.env['BENCH_PROXY_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  const proxy = startChild([...nodeArgs, path.join(here, '..', 'src', 'main.js'), 'serve', '--config', config]);
  for (let i = 0; i < 100 && !existsSync(proxySocket); i++) await new Promise((r) => setTimeout(r, 100));

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
  process.stdout.write(`cri-mux bench: ${ROUNDS} rounds × ${CALLS} calls, ${CONCURRENCY} in flight, node ${process.version}\n\n`);
  process.stdout.write('| call | direct calls/s | proxy calls/s | throughput ratio | direct p50 ms | proxy p50 ms | direct p99 ms | proxy p99 ms | p50 ratio |\n|---|---|---|---|---|---|---|---|---|\n');
  for (const s of scenarios) {
    await run(direct, { ...s });
    await run(viaProxy, { ...s }); // warm both paths
    const d = { latencies: [] as number[], seconds: 0 };
    const p = { latencies: [] as number[], seconds: 0 };
    for (let r = 0; r < ROUNDS; r++) {
      for (const [target, into] of [[direct, d], [viaProxy, p]] as const) {
        const res = await run(target, s);
        into.latencies.push(...res.latencies);
        into.seconds += res.seconds;
      }
    }
    const dRate = d.latencies.length / d.seconds;
    const pRate = p.latencies.length / p.seconds;
    const f = (x: number): string => x.toFixed(x < 10 ? 2 : 0);
    process.stdout.write(
      `| ${s.name} | ${f(dRate)} | ${f(pRate)} | ${(pRate / dRate).toFixed(2)} | ${f(pct(d.latencies, 50))} | ${f(pct(p.latencies, 50))} | ${f(pct(d.latencies, 99))} | ${f(pct(p.latencies, 99))} | ${(pct(p.latencies, 50) / pct(d.latencies, 50)).toFixed(2)} |\n`,
    );
  }
  direct.close();
  viaProxy.close();
  proxy.kill('SIGTERM');
  backend.kill('SIGTERM');
  await new Promise((r) => proxy.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${String(err)}\n`);
  process.exit(1);
});
