// Stream* lists and GetContainerEvents: merged from every backend, honest about breaks.
import { afterEach, describe, expect, it } from 'vitest';
import { GrpcStatus, isCriError } from '../../support/cri-client.js';
import { collectEvents } from '../../support/events.js';
import { startMux, type Mux } from '../../support/mux-harness.js';

let mux: Mux | undefined;
afterEach(async () => {
  await mux?.close();
  mux = undefined;
});

async function pods(m: Mux, perBackend: number): Promise<string[]> {
  const ids: string[] = [];
  for (const name of Object.keys(m.fakes)) {
    for (let i = 0; i < perBackend; i++) {
      const res = await m.client.call<{ pod_sandbox_id: string }>('RuntimeService', 'RunPodSandbox', {
        config: { metadata: { name: `${name}-${i}`, namespace: 'ns', uid: `${name}-${i}` }, annotations: { 'cri-mux.io/backend': name } },
      });
      ids.push(res.pod_sandbox_id);
    }
  }
  return ids.sort();
}

describe('Stream* lists', () => {
  it('merges every backend stream, falling back to the unary list on a backend without it', async () => {
    mux = await startMux({ backends: [{ name: 'a' }, { name: 'old', fake: { streamsUnimplemented: true } }], yaml: 'routing: { annotationBackends: [a, old] }' });
    const ids = await pods(mux, 3);
    const messages = await mux.client.stream<{ pod_sandboxes: { id: string }[] }>('RuntimeService', 'StreamPodSandboxes', {});
    expect(messages.flatMap((m) => m.pod_sandboxes.map((p) => p.id)).sort()).toEqual(ids);
    expect(mux.fakes['old']!.journal.some((e) => e.method === 'ListPodSandbox')).toBe(true);
  });

  it('sends a filter by id only to the owner', async () => {
    mux = await startMux({ backends: [{ name: 'a' }, { name: 'b' }], yaml: 'routing: { annotationBackends: [a, b] }' });
    const ids = await pods(mux, 1);
    const onB = ids.find((id) => mux!.fakes['b']!.state.sandboxes.has(id))!;
    mux.fakes['a']!.journal.length = 0;
    const messages = await mux.client.stream<{ pod_sandboxes: { id: string }[] }>('RuntimeService', 'StreamPodSandboxes', { filter: { id: onB } });
    expect(messages.flatMap((m) => m.pod_sandboxes.map((p) => p.id))).toEqual([onB]);
    expect(mux.fakes['a']!.journal.filter((e) => e.method.startsWith('Stream'))).toEqual([]);
  });

  it('dedupes images across backends in StreamImages', async () => {
    mux = await startMux({ backends: [{ name: 'a', fake: { images: ['x:1', 'y:1'] } }, { name: 'b', fake: { images: ['x:1', 'z:1'] } }] });
    const messages = await mux.client.stream<{ images: { repo_tags: string[] }[] }>('ImageService', 'StreamImages', {});
    expect(messages.flatMap((m) => m.images.map((i) => i.repo_tags[0])).sort()).toEqual(['x:1', 'y:1', 'z:1']);
  });

  it('answers UNIMPLEMENTED when no backend has the stream or its list', async () => {
    mux = await startMux({ backends: [{ name: 'a', fake: { streamsUnimplemented: true } }] });
    mux.fakes['a']!.setHandler('ListPodSandboxMetrics', () => {
      throw { code: GrpcStatus.UNIMPLEMENTED, details: 'nope' };
    });
    const err = await mux.client.stream('RuntimeService', 'StreamPodSandboxMetrics', {}).catch((e: unknown) => e);
    expect(isCriError(err, GrpcStatus.UNIMPLEMENTED)).toBe(true);
  });
});

describe('GetContainerEvents', () => {

  it('merges events of every backend into every subscriber, sharing one upstream per backend', async () => {
    mux = await startMux({ backends: [{ name: 'a' }, { name: 'b' }], yaml: 'routing: { annotationBackends: [a, b] }' });
    const ids = await pods(mux, 1);
    const s1 = collectEvents(mux.client.openStream('RuntimeService', 'GetContainerEvents', {}));
    const s2 = collectEvents(mux.client.openStream('RuntimeService', 'GetContainerEvents', {}));
    await mux.fakes['a']!.waitForEventSubscribers(1);
    await mux.fakes['b']!.waitForEventSubscribers(1);
    const containers: string[] = [];
    for (const pod of ids) {
      const res = await mux.client.call<{ container_id: string }>('RuntimeService', 'CreateContainer', { pod_sandbox_id: pod, config: { metadata: { name: 'c' }, image: { image: 'i' } } });
      containers.push(res.container_id);
    }
    await expect.poll(() => s1.events.length, { timeout: 3000 }).toBe(2);
    await expect.poll(() => s2.events.length, { timeout: 3000 }).toBe(2);
    expect(s1.events.sort()).toEqual(containers.sort());
    expect(mux.fakes['a']!.eventSubscribers()).toBe(1);
  });

  it('ends every subscriber stream with an error when one backend stream breaks', async () => {
    mux = await startMux({ backends: [{ name: 'a' }, { name: 'b' }], yaml: 'routing: { annotationBackends: [a, b] }' });
    const s = collectEvents(mux.client.openStream('RuntimeService', 'GetContainerEvents', {}));
    await mux.fakes['b']!.waitForEventSubscribers(1);
    mux.fakes['b']!.endEvents({ code: GrpcStatus.INTERNAL, details: 'shim died' });
    const err = await s.ended;
    expect(isCriError(err, GrpcStatus.UNAVAILABLE)).toBe(true);
    expect((err as Error).message).toMatch(/event stream from backend b broke \(shim died\)/);
    await expect.poll(() => mux!.fakes['a']!.eventSubscribers(), { timeout: 3000 }).toBe(0);
  });
});
