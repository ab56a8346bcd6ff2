// /metrics after real calls through the proxy: the exact samples each call moves, and only those.
import { afterEach, describe, expect, it } from 'vitest';
import { GrpcStatus, isCriError } from '../support/cri-client.js';
import { statusError } from '../support/fake-runtime.js';
import { moved, sampleKey as k, startObsMux, type ObsMux } from './observability-harness.js';

const ROUTING = `
routing:
  annotationBackends: [containerd]
  rules:
    - name: untrusted-in-vm
      match: { runtimeHandler: kata }
      backend: kata
      handler: ""
`;

const RS = 'runtime.v1.RuntimeService';
const unary = (method: string, service = RS) => ({ grpc_type: 'unary', grpc_service: service, grpc_method: method });

function pod(name: string, annotations: Record<string, string> = {}) {
  return { metadata: { name, namespace: 'default', uid: `uid-${name}`, attempt: 0 }, annotations };
}

const SERVER = ['grpc_server_started_total', 'grpc_server_handled_total', 'grpc_server_handling_seconds_count', 'grpc_server_msg_received_total', 'grpc_server_msg_sent_total'];
const BACKEND = ['crimux_backend_calls_total', 'crimux_backend_errors_total', 'crimux_backend_call_duration_seconds_count'];

describe('metrics', () => {
  let mux: ObsMux;
  afterEach(() => mux?.close());

  it('counts a placed pod once on every family it touches, by backend and rule', async () => {
    mux = await startObsMux({ yaml: ROUTING });
    const before = await mux.scrape();
    await mux.client.call('RuntimeService', 'RunPodSandbox', { config: pod('web'), runtime_handler: 'kata' });
    const after = await mux.scrape();

    expect(moved(before, after, SERVER)).toEqual({
      [k('grpc_server_started_total', unary('RunPodSandbox'))]: 1,
      [k('grpc_server_handled_total', { ...unary('RunPodSandbox'), grpc_code: 'OK' })]: 1,
      [k('grpc_server_handling_seconds_count', unary('RunPodSandbox'))]: 1,
      [k('grpc_server_msg_received_total', unary('RunPodSandbox'))]: 1,
      [k('grpc_server_msg_sent_total', unary('RunPodSandbox'))]: 1,
    });
    expect(moved(before, after, BACKEND)).toEqual({
      [k('crimux_backend_calls_total', { backend: 'kata', grpc_method: 'RunPodSandbox', grpc_code: 'OK' })]: 1,
      [k('crimux_backend_call_duration_seconds_count', { backend: 'kata', grpc_method: 'RunPodSandbox' })]: 1,
    });
    expect(moved(before, after, ['crimux_pods_placed_total', 'crimux_ownership_index_entries'])).toEqual({
      [k('crimux_pods_placed_total', { backend: 'kata', reason: 'rule', rule: 'untrusted-in-vm' })]: 1,
      [k('crimux_ownership_index_entries', { backend: 'kata', kind: 'sandbox' })]: 1,
    });
    expect(after.get(k('grpc_server_in_flight_calls', unary('RunPodSandbox')))).toBe(0);
  });

  it('labels placements by annotation key and by default', async () => {
    mux = await startObsMux({ yaml: ROUTING });
    const before = await mux.scrape();
    await mux.client.call('RuntimeService', 'RunPodSandbox', { config: pod('a', { 'cri-mux.io/backend': 'containerd' }) });
    await mux.client.call('RuntimeService', 'RunPodSandbox', { config: pod('b') });
    await mux.client.call('RuntimeService', 'RunPodSandbox', { config: pod('c') });
    expect(moved(before, await mux.scrape(), ['crimux_pods_placed_total'])).toEqual({
      [k('crimux_pods_placed_total', { backend: 'containerd', reason: 'annotation', rule: 'cri-mux.io/backend' })]: 1,
      [k('crimux_pods_placed_total', { backend: 'containerd', reason: 'default', rule: 'default' })]: 2,
    });
  });

  it('counts backend errors by code, relayed to the client, without placing a pod', async () => {
    mux = await startObsMux({ yaml: ROUTING });
    mux.fakes['containerd']!.failNext('RunPodSandbox', statusError(GrpcStatus.RESOURCE_EXHAUSTED, 'no room'));
    const before = await mux.scrape();
    await expect(mux.client.call('RuntimeService', 'RunPodSandbox', { config: pod('x') })).rejects.toMatchObject({ code: GrpcStatus.RESOURCE_EXHAUSTED });
    const after = await mux.scrape();
    expect(moved(before, after, ['grpc_server_handled_total', 'crimux_backend_errors_total', 'crimux_pods_placed_total', 'crimux_route_refusals_total'])).toEqual({
      [k('grpc_server_handled_total', { ...unary('RunPodSandbox'), grpc_code: 'ResourceExhausted' })]: 1,
      [k('crimux_backend_errors_total', { backend: 'containerd', grpc_method: 'RunPodSandbox', grpc_code: 'ResourceExhausted' })]: 1,
    });
  });

  it('counts the proxy\'s own refusals by reason, and ownership misses', async () => {
    mux = await startObsMux({ yaml: ROUTING });
    const before = await mux.scrape();
    const denied = await mux.client.call('RuntimeService', 'RunPodSandbox', { config: pod('d', { 'cri-mux.io/backend': 'kata' }) }).catch((e: unknown) => e);
    expect(isCriError(denied, GrpcStatus.PERMISSION_DENIED)).toBe(true);
    const unknown = await mux.client.call('RuntimeService', 'StartContainer', { container_id: 'f'.repeat(64) }).catch((e: unknown) => e);
    expect(isCriError(unknown, GrpcStatus.NOT_FOUND)).toBe(true);
    const after = await mux.scrape();
    expect(moved(before, after, ['crimux_route_refusals_total', 'crimux_ownership_lookup_misses_total'])).toEqual({
      [k('crimux_route_refusals_total', { grpc_method: 'RunPodSandbox', reason: 'CRIMUX_ERR_RUNTIME_DENIED' })]: 1,
      [k('crimux_route_refusals_total', { grpc_method: 'StartContainer', reason: 'CRIMUX_ERR_UNKNOWN_ID' })]: 1,
      [k('crimux_ownership_lookup_misses_total')]: 1,
    });
    // The miss asked both backends.
    expect(moved(before, after, ['crimux_backend_calls_total'])).toEqual({
      [k('crimux_backend_calls_total', { backend: 'containerd', grpc_method: 'ListContainers', grpc_code: 'OK' })]: 1,
      [k('crimux_backend_calls_total', { backend: 'kata', grpc_method: 'ListContainers', grpc_code: 'OK' })]: 1,
    });
  });

  it('marks a down backend, counts stale and skipped fan-out answers, and the probe time', async () => {
    mux = await startObsMux({ backends: [{ name: 'containerd', default: true }, { name: 'crio' }, { name: 'kata', optional: true }] });
    const first = await mux.scrape();
    for (const b of ['containerd', 'crio', 'kata']) {
      expect(first.get(k('crimux_backend_up', { backend: b }))).toBe(1);
      const probed = first.get(k('crimux_backend_last_probe_success_timestamp_seconds', { backend: b }))!;
      expect(Math.abs(probed - Date.now() / 1000)).toBeLessThan(60);
    }
    await mux.client.call('RuntimeService', 'ListPodSandbox', {});
    const before = await mux.scrape();
    await mux.fakes['kata']!.stop();
    await mux.client.call('RuntimeService', 'ListContainers', {}); // kata is optional and never answered this: skipped
    await mux.fakes['crio']!.stop();
    await mux.client.call('RuntimeService', 'ListPodSandbox', {}); // both answered this before: their last answers stand in
    const after = await mux.scrape();
    expect(moved(before, after, ['crimux_fanout_stale_answers_total', 'crimux_fanout_skipped_backends_total'])).toEqual({
      [k('crimux_fanout_skipped_backends_total', { grpc_method: 'ListContainers', backend: 'kata' })]: 1,
      [k('crimux_fanout_stale_answers_total', { grpc_method: 'ListPodSandbox', backend: 'crio' })]: 1,
      [k('crimux_fanout_stale_answers_total', { grpc_method: 'ListPodSandbox', backend: 'kata' })]: 1,
    });
    expect(after.get(k('crimux_backend_up', { backend: 'crio' }))).toBe(0);
    expect(after.get(k('crimux_backend_up', { backend: 'containerd' }))).toBe(1);
    expect(after.get(k('crimux_backend_serving_stale', { backend: 'crio' }))).toBe(1);
    expect(after.get(k('crimux_backend_serving_stale', { backend: 'containerd' }))).toBe(0);
  });

  it('tracks event streams: subscribers, upstream opens, in-flight calls', async () => {
    mux = await startObsMux();
    const before = await mux.scrape();
    const stream = mux.client.openStream('RuntimeService', 'GetContainerEvents', {});
    stream.on('error', () => undefined);
    await mux.fakes['containerd']!.waitForEventSubscribers(1);
    await mux.fakes['kata']!.waitForEventSubscribers(1);
    const open = await mux.scrape();
    const events = { grpc_type: 'server_stream', grpc_service: RS, grpc_method: 'GetContainerEvents' };
    expect(open.get(k('crimux_event_subscribers'))).toBe(1);
    expect(open.get(k('grpc_server_in_flight_calls', events))).toBe(1);
    expect(moved(before, open, ['crimux_event_upstream_opens_total', 'grpc_server_started_total'])).toEqual({
      [k('crimux_event_upstream_opens_total')]: 2,
      [k('grpc_server_started_total', events)]: 1,
    });
    stream.cancel();
    await waitFor(async () => (await mux.scrape()).get(k('crimux_event_subscribers')) === 0);
    const closed = await mux.scrape();
    expect(closed.get(k('grpc_server_in_flight_calls', events))).toBe(0);
    expect(moved(open, closed, ['grpc_server_handled_total'])).toEqual({ [k('grpc_server_handled_total', { ...events, grpc_code: 'OK' })]: 1 });
  });

  it('never uses ids, pod names, uids or images as label values', async () => {
    mux = await startObsMux({ yaml: ROUTING });
    const { pod_sandbox_id } = await mux.client.call<{ pod_sandbox_id: string }>('RuntimeService', 'RunPodSandbox', {
      config: pod('podname-marker-7731'),
      runtime_handler: 'kata',
    });
    const { container_id } = await mux.client.call<{ container_id: string }>('RuntimeService', 'CreateContainer', {
      pod_sandbox_id,
      config: { metadata: { name: 'ctr-marker-7731' }, image: { image: 'registry.example/image-marker-7731:1' } },
      sandbox_config: pod('podname-marker-7731'),
    });
    await mux.client.call('ImageService', 'PullImage', { image: { image: 'registry.example/image-marker-7731:2' } });
    await mux.client.call('RuntimeService', 'StartContainer', { container_id });
    const text = (await mux.get('/metrics')).body;
    for (const marker of ['marker-7731', 'uid-podname', pod_sandbox_id, container_id, pod_sandbox_id.slice(0, 12)]) {
      expect(text.includes(marker), `${marker} in /metrics`).toBe(false);
    }
  });

  it('exports process metrics and a build info sample', async () => {
    mux = await startObsMux();
    const s = await mux.scrape();
    expect(s.has('process_cpu_user_seconds_total')).toBe(true);
    expect(s.has('nodejs_heap_size_used_bytes')).toBe(true);
    expect([...s.keys()].some((key) => key.startsWith('crimux_build_info{version='))).toBe(true);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
