// Pods land where the rules say, and every later call about them follows.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GrpcStatus, isCriError, loadCriSample } from '../../support/cri-client.js';
import { methods, takeMethods } from '../../support/journal.js';
import { startMux, type Mux } from '../../support/mux-harness.js';

const ROUTING = `
routing:
  annotationBackends: [a, b]
  rules:
    - name: vm
      match: { runtimeHandler: kata }
      backend: vm
      handler: ""
    - name: team-b
      match: { namespace: "team-b-*" }
      backend: b
`;

function podConfig(over: { namespace?: string; annotations?: Record<string, string>; name?: string } = {}) {
  const sample = loadCriSample('sandbox_config.json');
  const metadata = { ...(sample['metadata'] as Record<string, unknown>), name: over.name ?? 'pod', namespace: over.namespace ?? 'default' };
  return { ...sample, metadata, annotations: { ...(sample['annotations'] as Record<string, string>), ...over.annotations } };
}

describe('pods', () => {
  let mux: Mux;
  beforeEach(async () => {
    mux = await startMux({ backends: [{ name: 'a' }, { name: 'b' }, { name: 'vm' }], yaml: ROUTING });
  });
  afterEach(() => mux.close());

  const run = async (config: Record<string, unknown>, runtime_handler = '') =>
    ((await mux.client.call('RuntimeService', 'RunPodSandbox', { config, runtime_handler })) as { pod_sandbox_id: string }).pod_sandbox_id;

  it('places a pod by annotation, by rule, or on the default backend, ids unchanged', async () => {
    const { a, b, vm } = mux.fakes;
    const byAnnotation = await run(podConfig({ annotations: { 'cri-mux.io/backend': 'b' } }));
    const byLegacyKey = await run(podConfig({ annotations: { 'kubernetes.io/target-runtime': 'b' } }));
    const byNamespace = await run(podConfig({ namespace: 'team-b-web' }));
    const byDefault = await run(podConfig());
    expect(b!.state.sandboxes.has(byAnnotation)).toBe(true);
    expect(b!.state.sandboxes.has(byLegacyKey)).toBe(true);
    expect(b!.state.sandboxes.has(byNamespace)).toBe(true);
    expect(a!.state.sandboxes.has(byDefault)).toBe(true);
    expect(methods(vm!)).not.toContain('RunPodSandbox');
  });

  it('rewrites the RuntimeClass handler as the rule says and leaves other bytes alone', async () => {
    const id = await run(podConfig(), 'kata');
    const vm = mux.fakes['vm']!;
    expect(vm.state.sandboxes.get(id)!.runtime_handler).toBe('');
    const other = await run(podConfig(), 'runc');
    expect(mux.fakes['a']!.state.sandboxes.get(other)!.runtime_handler).toBe('runc');
    const entry = vm.journal.find((e) => e.method === 'RunPodSandbox')!;
    expect((entry.request['config'] as { hostname: string }).hostname).toBe('crictl_host');
  });

  it('sends every later call about the pod and its containers to its backend only', async () => {
    const { a, b, vm } = mux.fakes;
    const pod = await run(podConfig({ annotations: { 'cri-mux.io/backend': 'b' } }));
    takeMethods(a!, b!, vm!);
    await mux.client.call('RuntimeService', 'PodSandboxStatus', { pod_sandbox_id: pod });
    const { container_id } = await mux.client.call<{ container_id: string }>('RuntimeService', 'CreateContainer', {
      pod_sandbox_id: pod,
      config: { metadata: { name: 'c' }, image: { image: 'busybox' } },
      sandbox_config: podConfig(),
    });
    await mux.client.call('RuntimeService', 'StartContainer', { container_id });
    const exec = await mux.client.call<{ stdout: Buffer }>('RuntimeService', 'ExecSync', { container_id, cmd: ['echo', 'hi'] });
    expect(exec.stdout.toString()).toBe('echo hi');
    const url = await mux.client.call<{ url: string }>('RuntimeService', 'Exec', { container_id, cmd: ['sh'], stdout: true });
    expect(url.url).toBe(`http://127.0.0.1:1/b/exec/${container_id}`);
    await mux.client.call('RuntimeService', 'StopContainer', { container_id, timeout: 1 });
    await mux.client.call('RuntimeService', 'RemoveContainer', { container_id });
    await mux.client.call('RuntimeService', 'StopPodSandbox', { pod_sandbox_id: pod });
    await mux.client.call('RuntimeService', 'RemovePodSandbox', { pod_sandbox_id: pod });
    expect(takeMethods(a!, b!, vm!)).toEqual([
      'b/PodSandboxStatus', 'b/CreateContainer', 'b/StartContainer', 'b/ExecSync', 'b/Exec',
      'b/StopContainer', 'b/RemoveContainer', 'b/StopPodSandbox', 'b/RemovePodSandbox',
    ]);
  });

  it('finds pods the index has never seen (made while the proxy was down) and unique id prefixes', async () => {
    const pod = await run(podConfig({ annotations: { 'cri-mux.io/backend': 'b' } }));
    await mux.restartProxy(); // fresh index, rebuilt from the backends' lists
    const { a, b, vm } = mux.fakes;
    takeMethods(a!, b!, vm!);
    await mux.client.call('RuntimeService', 'PodSandboxStatus', { pod_sandbox_id: pod });
    expect(takeMethods(a!, b!, vm!)).toEqual(['b/PodSandboxStatus']);
    // A prefix is resolved by asking the backends, then forwarded as typed.
    await mux.client.call('RuntimeService', 'PodSandboxStatus', { pod_sandbox_id: pod.slice(0, 8) });
    const seen = takeMethods(a!, b!, vm!);
    expect(seen.filter((m) => m.endsWith('/ListPodSandbox')).sort()).toEqual(['a/ListPodSandbox', 'b/ListPodSandbox', 'vm/ListPodSandbox']);
    expect(seen.at(-1)).toBe('b/PodSandboxStatus');
  });

  it('says NOT_FOUND only when every backend said so, and treats Stop/Remove of unknown ids as done', async () => {
    const err = await mux.client.call('RuntimeService', 'PodSandboxStatus', { pod_sandbox_id: 'f'.repeat(64) }).catch((e: unknown) => e);
    expect(isCriError(err, GrpcStatus.NOT_FOUND)).toBe(true);
    expect((err as Error).message).toMatch(/not found on any backend \(a, b, vm\)/);
    await expect(mux.client.call('RuntimeService', 'StopPodSandbox', { pod_sandbox_id: 'f'.repeat(64) })).resolves.toEqual({});
    await expect(mux.client.call('RuntimeService', 'RemoveContainer', { container_id: 'e'.repeat(64) })).resolves.toEqual({});
  });

  it('refuses an ambiguous id prefix with a clear error', async () => {
    const { a, b } = mux.fakes;
    // Two pods on two backends whose ids share a prefix.
    a!.setHandler('RunPodSandbox', () => ({ pod_sandbox_id: 'abc1' + '0'.repeat(60) }));
    b!.setHandler('RunPodSandbox', () => ({ pod_sandbox_id: 'abc2' + '0'.repeat(60) }));
    a!.setHandler('ListPodSandbox', () => ({ items: [{ id: 'abc1' + '0'.repeat(60) }] }));
    b!.setHandler('ListPodSandbox', () => ({ items: [{ id: 'abc2' + '0'.repeat(60) }] }));
    const err = await mux.client.call('RuntimeService', 'StopPodSandbox', { pod_sandbox_id: 'abc' }).catch((e: unknown) => e);
    expect(isCriError(err, GrpcStatus.INVALID_ARGUMENT)).toBe(true);
    expect((err as Error).message).toMatch(/matches on more than one backend: a .*; b .*use more characters/);
  });

  it('refuses annotations that name an unknown or disallowed backend, and pods missing an id', async () => {
    const unknown = await run(podConfig({ annotations: { 'cri-mux.io/backend': 'docker' } })).catch((e: unknown) => e);
    expect(isCriError(unknown, GrpcStatus.INVALID_ARGUMENT)).toBe(true);
    expect((unknown as { metadata: { get(k: string): unknown[] } }).metadata.get('cri-mux-error')).toEqual(['CRIMUX_ERR_UNKNOWN_BACKEND']);
    const denied = await run(podConfig({ annotations: { 'cri-mux.io/backend': 'vm' } })).catch((e: unknown) => e);
    expect(isCriError(denied, GrpcStatus.PERMISSION_DENIED)).toBe(true);
    const noId = await mux.client.call('RuntimeService', 'StartContainer', {}).catch((e: unknown) => e);
    expect(isCriError(noId, GrpcStatus.INVALID_ARGUMENT)).toBe(true);
    expect((noId as Error).message).toMatch(/needs container_id/);
  });

  it('relays a backend status verbatim (code and message)', async () => {
    const pod = await run(podConfig());
    mux.fakes['a']!.failNext('PodSandboxStatus', { code: GrpcStatus.FAILED_PRECONDITION, details: 'sandbox is being torn down' });
    const err = await mux.client.call('RuntimeService', 'PodSandboxStatus', { pod_sandbox_id: pod }).catch((e: unknown) => e);
    expect(isCriError(err, GrpcStatus.FAILED_PRECONDITION)).toBe(true);
    expect((err as { details: string }).details).toBe('sandbox is being torn down');
    expect((err as { metadata: { get(k: string): unknown[] } }).metadata.get('cri-mux-backend')).toEqual(['a']);
    expect((err as { metadata: { get(k: string): unknown[] } }).metadata.get('cri-mux-error')).toEqual([]);
  });

  it('records containers of a restored pod under the backend that restored it', async () => {
    const { a, b, vm } = mux.fakes;
    const res = await mux.client.call<{ pod_sandbox_id: string; restored_containers: { container_id: string }[] }>('RuntimeService', 'RestorePod', {
      checkpoint_path: '/tmp/cp.tar',
      config: podConfig({ annotations: { 'cri-mux.io/backend': 'b' } }),
      container_configs: [{ metadata: { name: 'c1' }, image: { image: 'busybox' } }],
    });
    expect(b!.state.sandboxes.has(res.pod_sandbox_id)).toBe(true);
    takeMethods(a!, b!, vm!);
    for (const c of res.restored_containers) await mux.client.call('RuntimeService', 'ContainerStatus', { container_id: c.container_id });
    expect(takeMethods(a!, b!, vm!).every((m) => m === 'b/ContainerStatus')).toBe(true);
  });
});
