// Image calls as kubelet really makes them: ImageStatus carries the pod's annotations but
// not its namespace or labels; image GC's RemoveImage carries only the image id.
import { afterEach, describe, expect, it } from 'vitest';
import { takeMethods } from '../../support/journal.js';
import { startMux, type Mux } from '../../support/mux-harness.js';

describe('image calls for pods placed by rules', () => {
  let mux: Mux | undefined;
  afterEach(() => mux?.close());

  it('ImageStatus for a pod a namespace rule placed is not refused for an annotation the rule overrode', async () => {
    mux = await startMux({
      backends: [{ name: 'a', fake: { images: ['img:1'] } }, { name: 'vm', fake: { images: ['img:1'] } }],
      // annotationBackends defaults to [a]: the annotation naming vm is not the pod author's to make,
      // but the operator's namespace rule sends the pod to vm anyway (rules first).
      yaml: `routing:
  rules:
    - { name: secure, match: { namespace: secure }, backend: vm }
`,
    });
    const annotations = { 'cri-mux.io/backend': 'vm', 'kubernetes.io/config.seen': '2026-12-03T17:00:00.1Z', 'kubernetes.io/config.source': 'api' };
    const pod = await mux.client.call<{ pod_sandbox_id: string }>('RuntimeService', 'RunPodSandbox', {
      config: { metadata: { name: 'p', namespace: 'secure', uid: 'u1' }, annotations },
    });
    expect(mux.fakes['vm']!.state.sandboxes.has(pod.pod_sandbox_id)).toBe(true);
    takeMethods(...Object.values(mux.fakes));
    // kubelet's next call for this pod: the image of its first container, with the pod's annotations.
    const res = await mux.client.call<{ image: { id: string } | null }>('ImageService', 'ImageStatus', { image: { image: 'img:1', annotations } });
    expect(res.image).not.toBeNull();
    expect(takeMethods(...Object.values(mux.fakes))).toEqual(['vm/ImageStatus']);
    // After a proxy restart the placement is forgotten; the only backend the pod can be on is vm.
    await mux.restartProxy();
    takeMethods(...Object.values(mux.fakes));
    const again = await mux.client.call<{ image: { id: string } | null }>('ImageService', 'ImageStatus', { image: { image: 'img:1', annotations } });
    expect(again.image).not.toBeNull();
    expect(takeMethods(...Object.values(mux.fakes))).toEqual(['vm/ImageStatus']);
  });

  it("image GC's RemoveImage (id only) reaches every store even when a rule matches pods without a RuntimeClass", async () => {
    mux = await startMux({
      backends: [{ name: 'a', fake: { images: ['shared:1'] } }, { name: 'b', fake: { images: ['shared:1'] } }],
      yaml: `routing:
  annotationBackends: [a, b]
  rules:
    - { name: plain-pods, match: { runtimeHandler: "" }, backend: a }
`,
    });
    await mux.client.call('ImageService', 'RemoveImage', { image: { image: 'shared:1' } });
    const res = await mux.client.call<{ images: unknown[] }>('ImageService', 'ListImages', {});
    expect(res.images).toEqual([]);
  });

  it("after a proxy restart, ImageStatus still answers from the store of the pod's backend (imagePullPolicy: Never)", async () => {
    mux = await startMux({
      backends: [{ name: 'a' }, { name: 'vm', fake: { images: ['preloaded:1'] } }],
      yaml: `routing:
  rules:
    - { name: vm, match: { runtimeHandler: kata }, backend: vm, handler: "" }
`,
    });
    const annotations = { 'kubernetes.io/config.seen': '2026-12-03T17:00:00.2Z', 'kubernetes.io/config.source': 'api' };
    await mux.client.call('RuntimeService', 'RunPodSandbox', { config: { metadata: { name: 'p', namespace: 'ns', uid: 'u2' }, annotations }, runtime_handler: 'kata' });
    await mux.restartProxy(); // the pod's container restarts later: kubelet checks its image again
    takeMethods(...Object.values(mux.fakes));
    // Gate off: no handler in the spec. The image is in vm's store, where the pod runs; with
    // pull policy Never an "absent" answer from a's store means ErrImageNeverPull for ever.
    const res = await mux.client.call<{ image: { id: string } | null }>('ImageService', 'ImageStatus', { image: { image: 'preloaded:1', annotations } });
    expect(res.image).not.toBeNull();
    expect(takeMethods(...Object.values(mux.fakes))).toEqual(['vm/ImageStatus']);
  });

  it("ImageStatus sent to a placed pod's backend carries the handler name that backend knows (the rule's rewrite)", async () => {
    mux = await startMux({
      backends: [{ name: 'a' }, { name: 'vm', fake: { images: ['img:1'] } }],
      yaml: `routing:
  rules:
    - { name: tenants-in-vm, match: { runtimeHandler: kata, namespace: "tenant-*" }, backend: vm, handler: "" }
`,
    });
    const annotations = { 'kubernetes.io/config.seen': '2026-12-03T17:00:00.3Z', 'kubernetes.io/config.source': 'api' };
    await mux.client.call('RuntimeService', 'RunPodSandbox', { config: { metadata: { name: 'p', namespace: 'tenant-1', uid: 'u3' }, annotations }, runtime_handler: 'kata' });
    mux.fakes['vm']!.journal.length = 0;
    // kubelet with RuntimeClassInImageCriApi: the pod's handler is in the spec, its namespace is not.
    const res = await mux.client.call<{ image: { id: string } | null }>('ImageService', 'ImageStatus', { image: { image: 'img:1', runtime_handler: 'kata', annotations } });
    expect(res.image).not.toBeNull();
    const sent = mux.fakes['vm']!.journal.find((e) => e.method === 'ImageStatus')!.request as { image: { runtime_handler: string } };
    expect(sent.image.runtime_handler).toBe(''); // vm's runtime knows no "kata": the rule maps it to its default
  });
});
