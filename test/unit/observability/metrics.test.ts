// The metric set: injectable registries, help on every family, bounded label names.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMetrics, grpcCodeName } from '../../../src/observability/metrics.js';

describe('createMetrics', () => {
  it('registers on the given registry only, as often as asked', async () => {
    const a = new Registry();
    const b = new Registry();
    createMetrics(a, { processMetrics: false });
    createMetrics(b, { processMetrics: false });
    expect((await a.getMetricsAsJSON()).length).toBeGreaterThan(20);
    const { register } = await import('prom-client');
    expect(register.getSingleMetric('grpc_server_handled_total')).toBeUndefined();
  });

  it('gives every family a help text and only bounded label names', async () => {
    const r = new Registry();
    createMetrics(r, { processMetrics: false });
    const allowed = new Set(['grpc_type', 'grpc_service', 'grpc_method', 'grpc_code', 'backend', 'kind', 'reason', 'rule', 'path', 'version']);
    const metrics = r.getMetricsAsArray() as unknown as { name: string; help: string; type: string; labelNames: string[] }[];
    for (const m of metrics) {
      expect(m.help.length, m.name).toBeGreaterThan(10);
      expect(m.name).toMatch(/^(grpc_server_|crimux_)/);
      if (m.type === 'counter') expect(m.name).toMatch(/_total$/);
      for (const label of m.labelNames) expect(allowed.has(label), `${m.name}{${label}}`).toBe(true);
    }
    expect(metrics.flatMap((m) => m.labelNames)).toContain('grpc_code');
  });

  it('names gRPC codes as grpc-go does', () => {
    expect([0, 1, 4, 5, 14].map(grpcCodeName)).toEqual(['OK', 'Canceled', 'DeadlineExceeded', 'NotFound', 'Unavailable']);
  });
});
