// A backend that is down must never make its pods look deleted, and must not take
// healthy backends down with it (DESIGN.md "Failure is part of the contract").
import type { Metadata } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { GrpcStatus, isCriError } from '../../support/cri-client.js';
import { startMux, type Mux } from '../../support/mux-harness.js';

let mux: Mux | undefined;
afterEach(async () => {
  await mux?.close();
  mux = undefined;
});

async function setup(opts: { staleWindow?: string; vmOptional?: boolean } = {}): Promise<Mux> {
  mux = await startMux({
    backends: [{ name: 'a' }, { name: 'b' }, { name: 'vm', optional: opts.vmOptional ?? false }],
    yaml: `routing:\n  annotationBackends: [a, b, vm]\nfailure:\n  staleListWindow: ${opts.staleWindow ?? '5m'}\n  probeInterval: 100ms\n`,
  });
  return mux;
}

async function podOn(m: Mux, backend: string): Promise<string> {
  const res = await m.client.call<{ pod_sandbox_id: string }>('RuntimeService', 'RunPodSandbox', {
    config: { metadata: { name: `p-${backend}`, namespace: 'ns', uid: backend }, annotations: { 'cri-mux.io/backend': backend } },
  });
  return res.pod_sandbox_id;
}

const listIds = async (m: Mux): Promise<string[]> =>
  ((await m.client.call<{ items: { id: string }[] }>('RuntimeService', 'ListPodSandbox', {})).items).map((i) => i.id).sort();

describe('a backend goes down', () => {
  it('keeps calls routed to healthy backends working', async () => {
    const m = await setup();
    const onA = await podOn(m, 'a');
    await m.fakes['b']!.stop();
    await expect(m.client.call('RuntimeService', 'PodSandboxStatus', { pod_sandbox_id: onA })).resolves.toBeDefined();
    await expect(podOn(m, 'a')).resolves.toMatch(/^[0-9a-f]{64}$/);
  });

  it('answers UNAVAILABLE, never NOT_FOUND, for a pod on the backend that is down', async () => {
    const m = await setup();
    const onB = await podOn(m, 'b');
    await m.fakes['b']!.stop();
    const err = await m.client.call('RuntimeService', 'StopPodSandbox', { pod_sandbox_id: onB }).catch((e: unknown) => e);
    expect(isCriError(err, GrpcStatus.UNAVAILABLE)).toBe(true);
    expect((err as Error).message).toMatch(/backend b is unreachable \(.*\); retry when it is back/);
    expect((err as { metadata: Metadata }).metadata.get('cri-mux-error')).toEqual(['CRIMUX_ERR_BACKEND_UNAVAILABLE']);
    expect((err as { metadata: Metadata }).metadata.get('cri-mux-backend')).toEqual(['b']);
    // An id the index does not know: b cannot answer, so it might be b's.
    await m.restartProxy();
    const unknown = await m.client.call('RuntimeService', 'PodSandboxStatus', { pod_sandbox_id: onB }).catch((e: unknown) => e);
    expect(isCriError(unknown, GrpcStatus.UNAVAILABLE)).toBe(true);
    expect((unknown as Error).message).toMatch(/cannot tell which runtime owns sandbox .* b: /);
  });

  it('serves its last list answer within the window, marked stale in Status, then fails naming it', async () => {
    const m = await setup({ staleWindow: '1s' });
    const ids = [await podOn(m, 'a'), await podOn(m, 'b'), await podOn(m, 'vm')].sort();
    expect(await listIds(m)).toEqual(ids);
    await m.fakes['b']!.stop();
    expect(await listIds(m)).toEqual(ids); // b's pods do not vanish
    const status = await m.client.call<{ info: Record<string, string> }>('RuntimeService', 'Status', { verbose: true });
    const b = (JSON.parse(status.info['cri-mux']!) as { name: string; health: string; servingStaleListsFrom?: string }[]).find((x) => x.name === 'b')!;
    expect(b.health).toBe('down');
    expect(b.servingStaleListsFrom).toBeDefined();
    await new Promise((r) => setTimeout(r, 1100));
    const err = await listIds(m).catch((e: unknown) => e);
    expect(isCriError(err, GrpcStatus.UNAVAILABLE)).toBe(true);
    expect((err as Error).message).toMatch(/backend b is unavailable/);
  });

  it('skips an optional backend visibly instead of failing', async () => {
    const m = await setup({ staleWindow: '1ms', vmOptional: true });
    const onA = await podOn(m, 'a');
    const onB = await podOn(m, 'b');
    await podOn(m, 'vm');
    await m.fakes['vm']!.stop();
    await new Promise((r) => setTimeout(r, 20));
    expect(await listIds(m)).toEqual([onA, onB].sort());
    // A required (non-optional) backend in the same state fails the list instead.
    await m.fakes['b']!.stop();
    await new Promise((r) => setTimeout(r, 20));
    const err = await listIds(m).catch((e: unknown) => e);
    expect(isCriError(err, GrpcStatus.UNAVAILABLE)).toBe(true);
  });

  it('does not let a hung backend stall a merged list: it counts as unreachable after failure.listTimeout', async () => {
    mux = await startMux({
      backends: [{ name: 'a' }, { name: 'b' }],
      yaml: 'routing:\n  annotationBackends: [a, b]\nfailure:\n  listTimeout: 300ms\n',
    });
    const m = mux;
    const ids = [await podOn(m, 'a'), await podOn(m, 'b')].sort();
    expect(await listIds(m)).toEqual(ids);
    m.fakes['b']!.delay('ListPodSandbox', 5_000);
    const started = Date.now();
    expect(await listIds(m)).toEqual(ids); // b's last answer stands in
    expect(Date.now() - started).toBeLessThan(3_000);
    const filtered = await m.client.call('RuntimeService', 'ListPodSandbox', { filter: { state: { state: 'SANDBOX_READY' } } }).catch((e: unknown) => e);
    expect(isCriError(filtered, GrpcStatus.UNAVAILABLE)).toBe(true); // never asked before: nothing to stand in
    m.fakes['b']!.delay('ListPodSandbox', 0);
  });

  it('reports RuntimeReady from the default and required backends only, with every state in info', async () => {
    const m = await setup();
    await m.fakes['vm']!.stop();
    await m.client.call('RuntimeService', 'ListPodSandbox', {}).catch(() => undefined);
    const s = await m.client.call<{ status: { conditions: { type: string; status: boolean }[] }; info: Record<string, string> }>('RuntimeService', 'Status', {});
    expect(s.status.conditions.find((c) => c.type === 'RuntimeReady')!.status).toBe(true);
    const states = JSON.parse(s.info['cri-mux']!) as { name: string; health: string; role: string }[];
    expect(states.map((x) => [x.name, x.role, x.health])).toEqual([['a', 'default', 'up'], ['b', 'secondary', 'up'], ['vm', 'secondary', 'down']]);
    await m.fakes['a']!.stop();
    const down = await m.client.call<{ status: { conditions: { type: string; status: boolean; reason: string }[] } }>('RuntimeService', 'Status', {});
    expect(down.status.conditions.find((c) => c.type === 'RuntimeReady')).toMatchObject({ status: false, reason: 'BackendUnavailable' });
  });

  it('replays the last UpdateRuntimeConfig to a backend that comes back', async () => {
    const m = await setup();
    await m.fakes['b']!.stop();
    await m.client.call('RuntimeService', 'UpdateRuntimeConfig', { runtime_config: { network_config: { pod_cidr: '10.244.0.0/24' } } });
    expect(m.fakes['a']!.journal.some((e) => e.method === 'UpdateRuntimeConfig')).toBe(true);
    m.fakes['b']!.journal.length = 0;
    await m.fakes['b']!.restart();
    await expect.poll(() => m.fakes['b']!.journal.filter((e) => e.method === 'UpdateRuntimeConfig').length, { timeout: 5000 }).toBe(1);
    const replayed = m.fakes['b']!.journal.find((e) => e.method === 'UpdateRuntimeConfig')!.request;
    expect(replayed).toMatchObject({ runtime_config: { network_config: { pod_cidr: '10.244.0.0/24' } } });
  });
});

describe('start-up', () => {
  it('refuses to serve when backends disagree on the cgroup driver', async () => {
    await expect(startMux({ backends: [{ name: 'a', fake: { cgroupDriver: 'SYSTEMD' } }, { name: 'b', fake: { cgroupDriver: 'CGROUPFS' } }] })).rejects.toThrow(
      /backends disagree on the cgroup driver \(SYSTEMD: a; CGROUPFS: b\)/,
    );
  });

  it('sends no new pods to a backend that comes up later with another cgroup driver', async () => {
    mux = await startMux({ backends: [{ name: 'a', fake: { cgroupDriver: 'CGROUPFS' } }, { name: 'b', fake: { cgroupDriver: 'CGROUPFS' } }], yaml: 'routing: { annotationBackends: [a, b] }\nfailure: { probeInterval: 100ms }' });
    const m = mux;
    await m.fakes['b']!.stop();
    await m.restartProxy(); // b is down at start-up: not checked yet
    m.fakes['b']!.setHandler('RuntimeConfig', () => ({ linux: { cgroup_driver: 'SYSTEMD' } }));
    await m.fakes['b']!.restart();
    await expect
      .poll(async () => (JSON.parse((await m.client.call<{ info: Record<string, string> }>('RuntimeService', 'Status', {})).info['cri-mux']!) as { name: string; cgroupMismatch?: string }[]).find((x) => x.name === 'b')?.cgroupMismatch, { timeout: 5000 })
      .toBe('reports cgroup driver SYSTEMD while the node\'s other runtimes use CGROUPFS');
    const err = await podOn(m, 'b').catch((e: unknown) => e);
    expect(isCriError(err, GrpcStatus.FAILED_PRECONDITION)).toBe(true);
    expect((err as Error).message).toMatch(/backend b reports cgroup driver SYSTEMD .*Fix its config/);
    await expect(podOn(m, 'a')).resolves.toMatch(/^[0-9a-f]{64}$/);
  });

  it('with every backend down at start-up, the default backend sets the node cgroup driver, not whichever comes up first', async () => {
    mux = await startMux({
      backends: [{ name: 'a', fake: { cgroupDriver: 'SYSTEMD' } }, { name: 'b', fake: { cgroupDriver: 'SYSTEMD' } }],
      yaml: 'routing: { annotationBackends: [a, b] }\nfailure: { probeInterval: 100ms }',
    });
    const m = mux;
    await m.fakes['a']!.stop();
    await m.fakes['b']!.stop();
    await m.restartProxy(); // node boot: cri-mux answers before its runtimes do
    m.fakes['b']!.setHandler('RuntimeConfig', () => ({ linux: { cgroup_driver: 'CGROUPFS' } }));
    const states = async () => JSON.parse((await m.client.call<{ info: Record<string, string> }>('RuntimeService', 'Status', {})).info['cri-mux']!) as { name: string; health: string; cgroupMismatch?: string }[];
    await m.fakes['b']!.restart(); // the misconfigured one wins the race
    await expect.poll(async () => (await states()).find((x) => x.name === 'b')?.health, { timeout: 5000 }).toBe('up');
    await m.fakes['a']!.restart();
    await expect.poll(async () => (await states()).find((x) => x.name === 'b')?.cgroupMismatch, { timeout: 5000 }).toBe("reports cgroup driver CGROUPFS while the node's other runtimes use SYSTEMD");
    // kubelet's RuntimeConfig answer and the default backend agree; the default takes pods.
    expect((await m.client.call<{ linux: { cgroup_driver: string } }>('RuntimeService', 'RuntimeConfig', {})).linux.cgroup_driver).toBe('SYSTEMD');
    expect((await states()).find((x) => x.name === 'a')?.cgroupMismatch).toBeUndefined();
    await expect(podOn(m, 'a')).resolves.toMatch(/^[0-9a-f]{64}$/);
    expect(isCriError(await podOn(m, 'b').catch((e: unknown) => e), GrpcStatus.FAILED_PRECONDITION)).toBe(true);
  }, 20_000);

  it('serves with a backend down, and a backend lacking RuntimeConfig is not a disagreement', async () => {
    mux = await startMux({ backends: [{ name: 'a', fake: { cgroupDriver: 'CGROUPFS' } }, { name: 'b', fake: { runtimeConfigUnimplemented: true } }] });
    const rc = await mux.client.call<{ linux: { cgroup_driver: string } }>('RuntimeService', 'RuntimeConfig', {});
    expect(rc.linux.cgroup_driver).toBe('CGROUPFS');
  });

  it('gives the socket the configured mode and group', async () => {
    mux = await startMux({ backends: [{ name: 'a' }] });
    const { statSync } = await import('node:fs');
    const { startProxy } = await import('../../../src/proxy.js');
    const { parseConfig } = await import('../../../src/config/load.js');
    const { captureLogger } = await import('../../support/mux-harness.js');
    const socket = `${mux.dir}/grouped.sock`;
    const config = parseConfig(`listen: { socket: ${socket}, mode: "0640", group: 4242 }\nbackends:\n  - { name: a, endpoint: "unix://${mux.fakes['a']!.socketPath}", default: true }\nmetrics: { enabled: false }\n`);
    const proxy = await startProxy(config, { log: captureLogger([]) });
    const st = statSync(socket);
    await proxy.close();
    expect(st.mode & 0o777).toBe(0o640);
    expect(st.gid).toBe(4242);
    const named = parseConfig(`listen: { socket: ${socket}, group: no-such-group-here }\nbackends:\n  - { name: a, endpoint: "unix://${mux.fakes['a']!.socketPath}", default: true }\nmetrics: { enabled: false }\n`);
    await expect(startProxy(named, { log: captureLogger([]) })).rejects.toThrow(/no group named "no-such-group-here" in \/etc\/group/);
  });

  it('refuses to take over a socket another process serves, and replaces a stale one', async () => {
    mux = await startMux({ backends: [{ name: 'a' }] });
    const { startProxy } = await import('../../../src/proxy.js');
    const { parseConfig } = await import('../../../src/config/load.js');
    const { captureLogger } = await import('../../support/mux-harness.js');
    const config = parseConfig(`listen:\n  socket: ${mux.socket}\nbackends:\n  - { name: a, endpoint: "unix://${mux.fakes['a']!.socketPath}", default: true }\nmetrics: { enabled: false }\n`);
    await expect(startProxy(config, { log: captureLogger([]) })).rejects.toThrow(/another process is already serving on .*cri-mux\.sock/);
  });
});
