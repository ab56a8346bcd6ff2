// A real runtime dies behind cri-mux: its pods must not look deleted, the other runtime's
// pods keep working, and when it comes back everything is as before (DESIGN.md failure
// semantics, on real containerd).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CriClient, GrpcStatus, isCriError, loadCriSample } from '../support/cri-client.js';
import { eventually } from '../support/eventually.js';
import { spawnMux, writeMuxConfig, type MuxProcess } from '../support/mux-process.js';
import { makeStateDir, realRuntimesAvailable, runRuntimesScript, startRuntimeEnv, type RuntimeEnv } from '../support/runtime-env.js';

const SLOW = 120_000;

describe.skipIf(!realRuntimesAvailable())('a real runtime dies behind cri-mux', () => {
  let env: RuntimeEnv;
  let proxy: MuxProcess;
  let mux: CriClient;
  const pods: Record<'a' | 'b', string> = { a: '', b: '' };

  const listIds = async (): Promise<string[]> =>
    (await mux.call<{ items: { id: string }[] }>('RuntimeService', 'ListPodSandbox', {})).items.map((p) => p.id).sort();
  const statusInfo = async (): Promise<{ name: string; health: string; servingStaleListsFrom?: string }[]> =>
    JSON.parse((await mux.call<{ info: Record<string, string> }>('RuntimeService', 'Status', {})).info['cri-mux']!) as { name: string; health: string }[];

  beforeAll(async () => {
    env = await startRuntimeEnv(await makeStateDir('cri-mux-failure-e2e-'), { instances: 2 });
    const socket = join(env.stateDir, 'mux.sock');
    const config = await writeMuxConfig(env, socket, ['failure: { staleListWindow: 2m, probeInterval: 300ms }', 'metrics: { enabled: false }']);
    proxy = await spawnMux(config, socket);
    mux = proxy.client;
    for (const name of ['a', 'b'] as const) {
      const config = loadCriSample('sandbox_config.json', {
        overrides: { metadata: { name: `fail-${name}`, uid: `fail-${name}-${process.pid}`, namespace: 'cri-mux-e2e', attempt: 0 }, annotations: { 'cri-mux.io/backend': name } },
      });
      pods[name] = (await mux.call<{ pod_sandbox_id: string }>('RuntimeService', 'RunPodSandbox', { config })).pod_sandbox_id;
    }
    expect(await listIds()).toEqual([pods.a, pods.b].sort()); // fills the last-answer memory
  }, 300_000);

  afterAll(async () => {
    await proxy?.stop();
    await env?.stop();
    if (proxy) console.log(`cri-mux process log (tail):\n${proxy.log().slice(-3000)}`);
  }, 180_000);

  it('keeps b\'s pods listed (stale, and said so) while containerd b is dead, and a\'s pod working', async () => {
    const pid = Number(readFileSync(env.instance('b').pidFile, 'utf8'));
    process.kill(pid, 'SIGKILL');
    await eventually('b seen down', async () => ((await statusInfo()).find((x) => x.name === 'b')!.health === 'down' ? true : undefined));
    expect(await listIds()).toEqual([pods.a, pods.b].sort());
    expect((await statusInfo()).find((x) => x.name === 'b')!.servingStaleListsFrom).toBeDefined();
    const s = await mux.call<{ status: { state: string } }>('RuntimeService', 'PodSandboxStatus', { pod_sandbox_id: pods.a });
    expect(s.status.state).toBe('SANDBOX_READY');
  }, SLOW);

  it('answers UNAVAILABLE naming b, never NOT_FOUND or success, for b\'s pod', async () => {
    const err = await mux.call('RuntimeService', 'StopPodSandbox', { pod_sandbox_id: pods.b }).catch((e: unknown) => e);
    expect(isCriError(err, GrpcStatus.UNAVAILABLE)).toBe(true);
    expect((err as Error).message).toMatch(/backend b is unreachable/);
  }, SLOW);

  it('serves b again once containerd b is back, with its pod intact', async () => {
    await runRuntimesScript(['up', env.stateDir, '2'], 120_000);
    await eventually('b seen up', async () => ((await statusInfo()).find((x) => x.name === 'b')!.health === 'up' ? true : undefined), 30_000);
    const s = await mux.call<{ status: { state: string } }>('RuntimeService', 'PodSandboxStatus', { pod_sandbox_id: pods.b });
    expect(['SANDBOX_READY', 'SANDBOX_NOTREADY']).toContain(s.status.state);
    expect(await listIds()).toEqual([pods.a, pods.b].sort());
    expect((await statusInfo()).find((x) => x.name === 'b')!.servingStaleListsFrom).toBeUndefined();
    for (const id of [pods.a, pods.b]) {
      await mux.call('RuntimeService', 'StopPodSandbox', { pod_sandbox_id: id });
      await mux.call('RuntimeService', 'RemovePodSandbox', { pod_sandbox_id: id });
    }
    expect(await listIds()).toEqual([]);
  }, SLOW);
});
