// The ownership index must not keep entries for objects that are gone, whatever form of
// the id (full, or a unique prefix as typed into crictl) the calls used.
import { afterEach, describe, expect, it } from 'vitest';
import { startMux, type Mux } from '../../support/mux-harness.js';

let mux: Mux | undefined;
afterEach(async () => {
  await mux?.close();
  mux = undefined;
});

describe('ids given as unique prefixes', () => {
  it('removing a pod by a prefix forgets it and its containers created by a prefix', async () => {
    mux = await startMux({ backends: [{ name: 'a' }, { name: 'b' }], yaml: 'routing:\n  annotationBackends: [a, b]\n' });
    const m = mux;
    const pod = (await m.client.call<{ pod_sandbox_id: string }>('RuntimeService', 'RunPodSandbox', {
      config: { metadata: { name: 'p', namespace: 'ns', uid: 'u' }, annotations: { 'cri-mux.io/backend': 'b' } },
    })).pod_sandbox_id;
    const prefix = pod.slice(0, 12);
    const c = (await m.client.call<{ container_id: string }>('RuntimeService', 'CreateContainer', {
      pod_sandbox_id: prefix,
      config: { metadata: { name: 'c' }, image: { image: 'i' } },
    })).container_id;
    const own = m.proxy.deps.ownership;
    expect(own.lookup('container', c)).toBe('b');

    await m.client.call('RuntimeService', 'StopPodSandbox', { pod_sandbox_id: prefix });
    await m.client.call('RuntimeService', 'RemovePodSandbox', { pod_sandbox_id: prefix });
    expect(m.fakes['b']!.state.sandboxes.has(pod)).toBe(false);
    // Before: both entries stayed until the backend next reconnected (a leak, and a stale
    // route for ids the runtime no longer has).
    expect(own.lookup('sandbox', pod)).toBeUndefined();
    expect(own.lookup('container', c)).toBeUndefined();
  });
});
