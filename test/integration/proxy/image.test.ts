// Images live in per-backend stores: pulled where the pod will run, looked up where they are.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { takeMethods } from '../../support/journal.js';
import { startMux, type Mux } from '../../support/mux-harness.js';

describe('images', () => {
  let mux: Mux;
  beforeEach(async () => {
    mux = await startMux({
      backends: [{ name: 'a', fake: { images: ['shared:1', 'only-a:1'] } }, { name: 'b', fake: { images: ['shared:1', 'only-b:1'] } }, { name: 'vm' }],
      yaml: `routing:
  annotationBackends: [a, b]
  rules:
    - { name: vm, match: { runtimeHandler: kata }, backend: vm, handler: "" }
`,
    });
    takeMethods(...Object.values(mux.fakes)); // start-up probes and index rebuild
  });
  afterEach(() => mux.close());
  const all = () => Object.values(mux.fakes);

  it('pulls into the backend the pod will run on (sandbox_config), by handler, else the default', async () => {
    await mux.client.call('ImageService', 'PullImage', {
      image: { image: 'busybox:1' },
      sandbox_config: { metadata: { name: 'p' }, annotations: { 'cri-mux.io/backend': 'b' } },
    });
    await mux.client.call('ImageService', 'PullImage', { image: { image: 'busybox:2', runtime_handler: 'kata' } });
    await mux.client.call('ImageService', 'PullImage', { image: { image: 'busybox:3' } });
    // The rule's handler rewrite (kata → "") reaches the image spec too.
    const vmPull = mux.fakes['vm']!.journal.find((e) => e.method === 'PullImage')!.request as { image: { image: string; runtime_handler: string } };
    expect(vmPull.image).toMatchObject({ image: 'busybox:2', runtime_handler: '' });
    expect(takeMethods(...all()).filter((m) => !m.endsWith('/Version'))).toEqual(['b/PullImage', 'vm/PullImage', 'a/PullImage']);
  });

  it('answers ImageStatus from the store of the backend the workload runs on, never another', async () => {
    const status = (image: string, hint: { runtime_handler?: string; annotations?: Record<string, string> } = {}) =>
      mux.client.call<{ image: { id: string } | null }>('ImageService', 'ImageStatus', { image: { image, ...hint } });
    // The handler decides when it is told (kubelet's RuntimeClassInImageCriApi gate).
    expect((await status('only-a:1', { runtime_handler: 'kata' })).image).toBeNull();
    expect((await status('only-b:1', { runtime_handler: 'runc' })).image).toBeNull(); // runc: no rule, default a
    // Not told: the pod may be a kata pod (vm) or not (a); present only if both hold it.
    expect((await status('only-a:1')).image).toBeNull();
    expect((await status('shared:1')).image).toBeNull(); // vm lacks it
    await mux.client.call('ImageService', 'PullImage', { image: { image: 'shared:1', runtime_handler: 'kata' } });
    expect((await status('shared:1')).image).not.toBeNull();
    // An allowed annotation decides where no rule can match (kubelet copies the pod's
    // annotations into the spec); with the handler untold, the kata rule still might.
    expect((await status('only-b:1', { runtime_handler: 'runc', annotations: { 'cri-mux.io/backend': 'b' } })).image).not.toBeNull();
    expect((await status('only-b:1', { annotations: { 'cri-mux.io/backend': 'b' } })).image).toBeNull();
  });

  it('sends ImageStatus for a pod already placed to that pod\'s backend (kubelet creates the sandbox first)', async () => {
    const annotations = { 'kubernetes.io/config.seen': '2026-12-03T17:00:00.123Z', 'kubernetes.io/config.source': 'api' };
    const pod = await mux.client.call<{ pod_sandbox_id: string }>('RuntimeService', 'RunPodSandbox', {
      config: { metadata: { name: 'p', namespace: 'ns' }, annotations },
      runtime_handler: 'kata',
    });
    expect(mux.fakes['vm']!.state.sandboxes.has(pod.pod_sandbox_id)).toBe(true);
    takeMethods(...all());
    // The gate is off: no handler in the spec, only the pod's annotations.
    const res = await mux.client.call<{ image: unknown }>('ImageService', 'ImageStatus', { image: { image: 'only-a:1', annotations } });
    expect(res.image).toBeNull();
    expect(takeMethods(...all())).toEqual(['vm/ImageStatus']);
  });

  it('lists an image held by two backends once', async () => {
    const res = await mux.client.call<{ images: { repo_tags: string[] }[] }>('ImageService', 'ListImages', {});
    expect(res.images.map((i) => i.repo_tags[0]).sort()).toEqual(['only-a:1', 'only-b:1', 'shared:1']);
  });

  it('removes an image from every store that holds it', async () => {
    await mux.client.call('ImageService', 'RemoveImage', { image: { image: 'shared:1' } });
    const res = await mux.client.call<{ images: { repo_tags: string[] }[] }>('ImageService', 'ListImages', {});
    expect(res.images.map((i) => i.repo_tags[0]).sort()).toEqual(['only-a:1', 'only-b:1']);
  });

  it('puts the default backend filesystems first in ImageFsInfo', async () => {
    const res = await mux.client.call<{ image_filesystems: { fs_id: { mountpoint: string } }[] }>('ImageService', 'ImageFsInfo', {});
    expect(res.image_filesystems.map((f) => f.fs_id.mountpoint)).toEqual(['/var/lib/a', '/var/lib/b', '/var/lib/vm']);
  });
});
