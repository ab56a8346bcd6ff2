// The metrics endpoint's paths: /metrics, /healthz, /readyz (which backends count), 404 elsewhere.
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { Observability } from '../../src/observability/observability.js';
import { startObsMux, type ObsMux } from './observability-harness.js';

describe('metrics endpoint', () => {
  let mux: ObsMux;
  afterEach(() => mux?.close());

  it('serves Prometheus text on /metrics, ok on /healthz, 404 elsewhere, 405 for other verbs', async () => {
    mux = await startObsMux();
    const metrics = await mux.get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(metrics.body).toContain('# TYPE grpc_server_handled_total counter');
    expect(await mux.get('/healthz')).toMatchObject({ status: 200, body: 'ok\n' });
    expect((await mux.get('/')).status).toBe(404);
    expect((await mux.get('/metrics/extra')).status).toBe(404);
    expect((await mux.get('/metrics', 'POST')).status).toBe(405);
    expect(mux.obs.endpoint!.address.host).toBe('127.0.0.1');
    expect(mux.obs.endpoint!.address.port).toBeGreaterThan(0);
  });

  it('/readyz: ready while the default and every non-optional backend answer; names those that do not', async () => {
    mux = await startObsMux({ backends: [{ name: 'containerd', default: true }, { name: 'crio' }, { name: 'kata', optional: true }] });
    expect(await mux.get('/readyz')).toMatchObject({ status: 200, body: 'ready\n' });

    await mux.fakes['kata']!.stop();
    await mux.client.call('RuntimeService', 'ListContainers', {}); // the proxy learns kata is down
    expect(mux.proxy.deps.pool.get('kata').health).toBe('down');
    expect(await mux.get('/readyz')).toMatchObject({ status: 200, body: 'ready\n' });

    await mux.fakes['crio']!.stop();
    await mux.client.call('RuntimeService', 'ListContainers', {}).catch(() => undefined);
    const crioDown = await mux.get('/readyz');
    expect(crioDown.status).toBe(503);
    expect(crioDown.body).toMatch(/^backend crio \(non-optional\) is down since \S+: /);
    expect(crioDown.body).not.toContain('kata');
    expect(await mux.get('/healthz')).toMatchObject({ status: 200 });

    await mux.fakes['containerd']!.stop();
    await mux.client.call('RuntimeService', 'ListContainers', {}).catch(() => undefined);
    const lines = (await mux.get('/readyz')).body.trim().split('\n');
    expect(lines.map((l) => l.split(' (')[0])).toEqual(['backend containerd', 'backend crio']);
    expect(lines[0]).toContain('(default)');

    await mux.fakes['crio']!.restart();
    await mux.fakes['containerd']!.restart();
    // The channels reconnect with backoff: probe until the proxy sees both again.
    const deadline = Date.now() + 10_000;
    while ((await mux.get('/readyz')).status !== 200 && Date.now() < deadline) {
      await mux.proxy.deps.pool.probeAll();
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await mux.get('/readyz')).toMatchObject({ status: 200, body: 'ready\n' });
  });

  it('/readyz says "starting" until the CRI socket is served', async () => {
    mux = await startObsMux();
    // A fresh Observability that has not seen the proxy start.
    const early = new Observability(mux.config, { log: createLogger('silent'), processMetrics: false });
    const server = (await early.listen())!;
    const res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('starting');
    await early.close();
  });

  it('is not started when metrics.enabled is false', async () => {
    mux = await startObsMux({ metricsYaml: '  enabled: false' });
    expect(mux.obs.endpoint).toBeUndefined();
  });
});
