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
    // No hint: a pod on the default backend. An image only b holds is not there for it.
    expect((await status('only-a:1')).image).not.toBeNull();
    expect((await status('only-b:1')).image).toBeNull();
    // kubelet passes the pod's annotations (and, with its gate, the handler) in the ImageSpec.
    expect((await status('only-b:1', { annotations: { 'cri-mux.io/backend': 'b' } })).image).not.toBeNull();
    expect((await status('only-a:1', { runtime_handler: 'kata' })).image).toBeNull();
    expect(takeMethods(...all()).filter((m) => m.endsWith('/ImageStatus'))).toEqual(['a/ImageStatus', 'a/ImageStatus', 'b/ImageStatus', 'vm/ImageStatus']);
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
