// Calls answered for the node: Version, Status, RuntimeConfig, metrics descriptors, list narrowing.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CRI_MUX_VERSION } from '../../../src/version.js';
import { takeMethods } from '../../support/journal.js';
import { startMux, type Mux } from '../../support/mux-harness.js';

describe('runtime info', () => {
  let mux: Mux;
  beforeEach(async () => {
    mux = await startMux({
      backends: [{ name: 'a' }, { name: 'b' }],
      yaml: 'routing:\n  rules:\n    - { name: vm, match: { runtimeHandler: kata }, backend: b, handler: runc }\n',
    });
    takeMethods(...Object.values(mux.fakes));
  });
  afterEach(() => mux.close());

  it('answers Version as cri-mux speaking CRI v1, without asking a backend', async () => {
    const v = await mux.client.call('RuntimeService', 'Version', { version: 'v1' });
    expect(v).toEqual({ version: '0.1.0', runtime_name: 'cri-mux', runtime_version: CRI_MUX_VERSION, runtime_api_version: 'v1' });
    expect(takeMethods(...Object.values(mux.fakes))).toEqual([]);
  });

  it('lists every backend handler once, plus handler names the rules accept', async () => {
    const s = await mux.client.call<{ runtime_handlers: { name: string }[]; status: { conditions: { type: string; status: boolean }[] } }>('RuntimeService', 'Status', {});
    expect(s.runtime_handlers.map((h) => h.name)).toEqual(['', 'runc', 'a', 'b', 'kata']);
    expect(s.status.conditions).toEqual([
      expect.objectContaining({ type: 'RuntimeReady', status: true }),
      expect.objectContaining({ type: 'NetworkReady', status: true }),
    ]);
  });

  it('merges metric descriptors by name', async () => {
    const res = await mux.client.call<{ descriptors: { name: string }[] }>('RuntimeService', 'ListMetricDescriptors', {});
    const names = res.descriptors.map((d) => d.name);
    expect(names.length).toBe(new Set(names).size);
    expect(names).toEqual(expect.arrayContaining(['a_cpu', 'b_cpu']));
  });

  it('sends a container list filtered by pod only to the pod owner', async () => {
    const pod = await mux.client.call<{ pod_sandbox_id: string }>('RuntimeService', 'RunPodSandbox', { config: { metadata: { name: 'p' } }, runtime_handler: 'kata' });
    takeMethods(...Object.values(mux.fakes));
    await mux.client.call('RuntimeService', 'ListContainers', { filter: { pod_sandbox_id: pod.pod_sandbox_id } });
    await mux.client.call('RuntimeService', 'ListContainerStats', { filter: { pod_sandbox_id: pod.pod_sandbox_id } });
    await mux.client.call('RuntimeService', 'ListContainers', {});
    const seen = takeMethods(...Object.values(mux.fakes));
    expect(seen.slice(0, 2)).toEqual(['b/ListContainers', 'b/ListContainerStats']);
    expect(seen.slice(2).sort()).toEqual(['a/ListContainers', 'b/ListContainers']); // unfiltered: everyone
  });
});
