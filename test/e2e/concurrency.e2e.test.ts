// Many pods at once through cri-mux on real containerd, with lists running alongside, as a
// busy kubelet would: each pod lands where its annotation says, nothing is lost or misrouted.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CriClient, loadCriSample } from '../support/cri-client.js';
import { spawnMux, writeMuxConfig, type MuxProcess } from '../support/mux-process.js';
import { makeStateDir, realRuntimesAvailable, startRuntimeEnv, type RuntimeEnv } from '../support/runtime-env.js';

const PODS_PER_BACKEND = 5;

describe.skipIf(!realRuntimesAvailable())('concurrent pods through cri-mux', () => {
  let env: RuntimeEnv;
  let proxy: MuxProcess;
  let mux: CriClient;
  const placed: { id: string; container: string; backend: 'a' | 'b' }[] = [];

  beforeAll(async () => {
    env = await startRuntimeEnv(await makeStateDir('cri-mux-concurrency-e2e-'), { instances: 2 });
    const socket = join(env.stateDir, 'mux.sock');
    proxy = await spawnMux(await writeMuxConfig(env, socket, ['metrics: { enabled: false }']), socket);
    mux = proxy.client;
    for (const backend of ['a', 'b'] as const) {
      const sandbox_config = loadCriSample('sandbox_config.json', { overrides: { annotations: { 'cri-mux.io/backend': backend } } });
      await mux.call('ImageService', 'PullImage', { image: { image: env.images.busybox }, sandbox_config }, { deadlineMs: 0 });
    }
  }, 300_000);

  afterAll(async () => {
    await proxy?.stop();
    await env?.stop();
  }, 180_000);

  it('creates pods and containers concurrently while lists run, each on its backend', async () => {
    let listing = true;
    let lists = 0;
    const lister = (async () => {
      while (listing) {
        await mux.call('RuntimeService', 'ListPodSandbox', {});
        await mux.call('RuntimeService', 'ListContainers', {});
        lists++;
      }
    })();
    const jobs = (['a', 'b'] as const).flatMap((backend) =>
      Array.from({ length: PODS_PER_BACKEND }, async (_, i) => {
        const name = `c-${backend}-${i}`;
        const config = loadCriSample('sandbox_config.json', {
          overrides: { metadata: { name, uid: `${name}-${process.pid}`, namespace: 'cri-mux-e2e', attempt: 0 }, annotations: { 'cri-mux.io/backend': backend } },
        });
        const { pod_sandbox_id: id } = await mux.call<{ pod_sandbox_id: string }>('RuntimeService', 'RunPodSandbox', { config });
        const container = loadCriSample('container_sleep.json', { image: env.images.busybox, overrides: { metadata: { name: 'sleep', attempt: 0 }, command: ['sleep', '3600'], args: [] } });
        const { container_id } = await mux.call<{ container_id: string }>('RuntimeService', 'CreateContainer', { pod_sandbox_id: id, config: container, sandbox_config: config });
        await mux.call('RuntimeService', 'StartContainer', { container_id });
        placed.push({ id, container: container_id, backend });
      }),
    );
    await Promise.all(jobs);
    listing = false;
    await lister;
    expect(lists).toBeGreaterThan(0);
    for (const backend of ['a', 'b'] as const) {
      const own = new CriClient(env.instance(backend).socket);
      const there = (await own.call<{ items: { id: string }[] }>('RuntimeService', 'ListPodSandbox', {})).items.map((p) => p.id).sort();
      own.close();
      expect(there).toEqual(placed.filter((p) => p.backend === backend).map((p) => p.id).sort());
    }
    const all = (await mux.call<{ containers: { id: string }[] }>('RuntimeService', 'ListContainers', { filter: { state: { state: 'CONTAINER_RUNNING' } } })).containers;
    expect(all.map((c) => c.id).sort()).toEqual(placed.map((p) => p.container).sort());
  }, 240_000);

  it('tears them all down concurrently', async () => {
    await Promise.all(
      placed.map(async (p) => {
        await mux.call('RuntimeService', 'StopContainer', { container_id: p.container, timeout: 1 });
        await mux.call('RuntimeService', 'RemoveContainer', { container_id: p.container });
        await mux.call('RuntimeService', 'StopPodSandbox', { pod_sandbox_id: p.id });
        await mux.call('RuntimeService', 'RemovePodSandbox', { pod_sandbox_id: p.id });
      }),
    );
    expect((await mux.call<{ items: unknown[] }>('RuntimeService', 'ListPodSandbox', {})).items).toEqual([]);
  }, 240_000);
});
