// Rough cost of the audit log: calls/s through the proxy with a fake backend, without audit
// and with ExecSync audited at Metadata and at Request level (one synchronous write per
// event). A measurement, not a gate: run with CRIMUX_BENCH=1.
//   CRIMUX_BENCH=1 npx vitest run test/integration/observability-overhead.test.ts
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Metadata, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { compileTable } from '../../src/cri/plan.js';
import { CriSchema } from '../../src/cri/schema.js';
import { AuditLog, auditObserver } from '../../src/observability/audit.js';
import { createLogger } from '../../src/observability/logger.js';
import { CallContext } from '../../src/server/call-context.js';
import { startObsMux, type ObsMux } from './observability-harness.js';

const CALLS = Number(process.env['CRIMUX_BENCH_CALLS'] ?? 4000);
const CONCURRENCY = 16;

async function prepare(mux: ObsMux): Promise<string> {
  const { pod_sandbox_id } = await mux.client.call<{ pod_sandbox_id: string }>('RuntimeService', 'RunPodSandbox', {
    config: { metadata: { name: 'bench', namespace: 'default', uid: 'bench' } },
  });
  const { container_id } = await mux.client.call<{ container_id: string }>('RuntimeService', 'CreateContainer', {
    pod_sandbox_id,
    config: { metadata: { name: 'c' }, image: { image: 'busybox' } },
    sandbox_config: { metadata: { name: 'bench', namespace: 'default', uid: 'bench' } },
  });
  await mux.client.call('RuntimeService', 'StartContainer', { container_id });
  return container_id;
}

async function rate(mux: ObsMux, containerId: string): Promise<number> {
  const request = { container_id: containerId, cmd: ['sh', '-c', 'echo ok'], timeout: 5 };
  for (let i = 0; i < 200; i++) await mux.client.call('RuntimeService', 'ExecSync', request); // warm-up
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < CALLS) await mux.client.call('RuntimeService', 'ExecSync', request);
    }),
  );
  return CALLS / ((performance.now() - started) / 1000);
}

describe.skipIf(!process.env['CRIMUX_BENCH'])('audit overhead (CRIMUX_BENCH=1)', () => {
  it('measures ExecSync calls/s without audit, at Metadata and at Request level', async () => {
    const results: Record<string, number[]> = { none: [], Metadata: [], Request: [] };
    for (let round = 0; round < 3; round++) {
      for (const level of ['none', 'Metadata', 'Request'] as const) {
        const file = path.join(tmpdir(), `cri-mux-bench-${process.pid}-${level}.log`);
        const yaml = level === 'none' ? '' : `audit:\n  path: ${file}\n  levels:\n    ExecSync: ${level}`;
        const mux = await startObsMux({ yaml, logLevel: 'info' });
        try {
          results[level]!.push(await rate(mux, await prepare(mux)));
          if (level !== 'none') expect(mux.obs.audit!.written).toBeGreaterThanOrEqual(CALLS);
        } finally {
          await mux.close();
          rmSync(file, { force: true });
        }
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const base = median(results['none']!);
    for (const [level, xs] of Object.entries(results)) {
      const m = median(xs);
      console.log(`${level.padEnd(8)} ${m.toFixed(0)} calls/s (runs: ${xs.map((x) => x.toFixed(0)).join(', ')}) ${level === 'none' ? '' : `${(((base - m) / base) * 100).toFixed(1)}% slower`}`);
    }
  }, 300_000);

  it('measures the audit observer alone: µs per event (decode, redact, serialize, write)', () => {
    const schema = new CriSchema();
    const plans = compileTable(schema).plans;
    const requests = {
      ExecSync: schema.encode('ExecSyncRequest', { container_id: 'a'.repeat(64), cmd: ['sh', '-c', 'echo ok'], timeout: 5 }),
      CreateContainer: schema.encode('CreateContainerRequest', {
        pod_sandbox_id: 'a'.repeat(64),
        config: {
          metadata: { name: 'app' },
          image: { image: 'registry.example/app:1' },
          envs: Array.from({ length: 20 }, (_, i) => ({ key: `K${i}`, value: Buffer.from(`value-${i}`) })),
          annotations: { 'example.com/token': 'x', team: 'a' },
          labels: { app: 'web' },
        },
        sandbox_config: { metadata: { name: 'web', namespace: 'default', uid: 'u' }, annotations: { a: 'b' } },
      }),
    };
    const N = 20_000;
    for (const [method, request] of Object.entries(requests)) {
      for (const level of ['Metadata', 'Request'] as const) {
        const plan = plans.get(method)!;
        const file = path.join(tmpdir(), `cri-mux-bench-observer-${process.pid}.log`);
        const audit = new AuditLog({ path: file, log: createLogger('silent') });
        const observer = auditObserver({ config: { path: file, failClosed: false, levels: {}, sensitiveKeys: ['*token*'] }, audit, schema: () => schema, policy: () => level });
        const outcome = { code: status.OK, details: '', reason: 'OK', seconds: 0.001 };
        const contexts = Array.from({ length: N }, () => {
          const ctx = new CallContext(plan, new Metadata(), undefined, new AbortController().signal, 'unknown');
          ctx.route.backends.push('containerd');
          ctx.route.reason = 'owner';
          return ctx;
        });
        const started = performance.now();
        for (const ctx of contexts) {
          observer.begin!(ctx, request);
          observer.end(ctx, outcome, Buffer.alloc(0));
        }
        const us = ((performance.now() - started) * 1000) / N;
        audit.close();
        rmSync(file, { force: true });
        console.log(`audit observer, ${method} at ${level}: ${us.toFixed(1)} µs per event (${N} events, one write(2) each)`);
        expect(audit.written).toBe(N);
      }
    }
  }, 120_000);
});
