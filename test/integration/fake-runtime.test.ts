// The fake runtime is the ground truth of every proxy test, so it is tested first, on its own,
// through a real grpc-js client over its unix socket.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CriClient, type CriMessage, criMethod } from '../support/cri-client.js';
import {
  type FakeRuntime,
  type FakeRuntimeOptions,
  imageIdFor,
  SHARED_METRIC,
  startFakeRuntime,
  statusError,
  STREAM_BATCH_SIZE,
  withUnknownField,
} from '../support/fake-runtime.js';
import { methods, take, takeMethods } from '../support/journal.js';

let dir: string;
const fakes: FakeRuntime[] = [];
const clients: CriClient[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cri-mux-fake-'));
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(fakes.splice(0).map((fake) => fake.stop()));
  rmSync(dir, { recursive: true, force: true });
});

async function start(name = 'alpha', options: Partial<FakeRuntimeOptions> = {}): Promise<{ fake: FakeRuntime; cri: CriClient }> {
  const fake = await startFakeRuntime({ name, socketPath: join(dir, `${name}.sock`), ...options });
  // Quick reconnects, so a restarted fake is reachable again without seconds of backoff.
  const cri = new CriClient(fake.socketPath, { 'grpc.initial_reconnect_backoff_ms': 50, 'grpc.max_reconnect_backoff_ms': 100 });
  fakes.push(fake);
  clients.push(cri);
  return { fake, cri };
}

const rt = (cri: CriClient, method: string, request: CriMessage = {}): Promise<CriMessage> => cri.call('RuntimeService', method, request);

function sandboxConfig(name: string, labels: Record<string, string> = {}): CriMessage {
  return { metadata: { name, uid: `uid-${name}`, namespace: 'default', attempt: 0 }, labels, annotations: { note: name } };
}

async function runPod(cri: CriClient, name: string, labels: Record<string, string> = {}): Promise<string> {
  const response = await rt(cri, 'RunPodSandbox', { config: sandboxConfig(name, labels) });
  return String(response['pod_sandbox_id']);
}

async function createContainer(cri: CriClient, podId: string, name: string, labels: Record<string, string> = {}): Promise<string> {
  const config = { metadata: { name }, image: { image: 'busybox:1.36' }, command: ['sleep', '3600'], labels };
  const response = await rt(cri, 'CreateContainer', { pod_sandbox_id: podId, config, sandbox_config: sandboxConfig('p') });
  return String(response['container_id']);
}

const ids = (items: unknown): unknown[] => (Array.isArray(items) ? items.map((item: CriMessage) => item['id']) : []);

describe('fake runtime', () => {
  it('answers Version with its name and journals the exact request bytes, metadata and deadline', async () => {
    const { fake, cri } = await start('alpha');
    const version = await cri.call('RuntimeService', 'Version', { version: 'v1' }, { metadata: { traceparent: 't-1' }, deadlineMs: 5000 });
    expect(version).toMatchObject({ runtime_name: 'alpha', runtime_api_version: 'v1' });
    const [entry] = take(fake);
    expect(entry?.method).toBe('Version');
    expect(entry?.raw).toEqual(criMethod('RuntimeService', 'Version').requestSerialize({ version: 'v1' }));
    expect(entry?.request).toMatchObject({ version: 'v1' });
    expect(entry?.metadata['traceparent']).toEqual(['t-1']);
    expect(entry?.deadline).toBeDefined();
  });

  it('runs a full pod lifecycle', async () => {
    const { fake, cri } = await start();
    const podId = await runPod(cri, 'web');
    expect(podId).toMatch(/^[0-9a-f]{64}$/);
    const containerId = await createContainer(cri, podId, 'app');
    await rt(cri, 'StartContainer', { container_id: containerId });
    expect(await rt(cri, 'ExecSync', { container_id: containerId, cmd: ['echo', 'hi'] })).toMatchObject({
      stdout: Buffer.from('echo hi'),
      exit_code: 0,
    });
    expect(await rt(cri, 'Exec', { container_id: containerId })).toEqual({ url: `http://127.0.0.1:1/alpha/exec/${containerId}` });
    const status = await rt(cri, 'ContainerStatus', { container_id: containerId.slice(0, 12) });
    expect(status['status']).toMatchObject({ id: containerId, state: 'CONTAINER_RUNNING', image_ref: imageIdFor('busybox:1.36') });
    await rt(cri, 'StopPodSandbox', { pod_sandbox_id: podId });
    expect((await rt(cri, 'PodSandboxStatus', { pod_sandbox_id: podId }))['status']).toMatchObject({ state: 'SANDBOX_NOTREADY' });
    expect((await rt(cri, 'ContainerStatus', { container_id: containerId }))['status']).toMatchObject({ state: 'CONTAINER_EXITED' });
    await rt(cri, 'RemovePodSandbox', { pod_sandbox_id: podId });
    await rt(cri, 'RemovePodSandbox', { pod_sandbox_id: podId }); // idempotent
    await rt(cri, 'StopContainer', { container_id: containerId }); // idempotent
    await expect(rt(cri, 'PodSandboxStatus', { pod_sandbox_id: podId })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    expect(fake.state.sandboxes.size + fake.state.containers.size).toBe(0);
    expect(methods(fake)).toContain('ExecSync');
  });

  it('refuses a container in an unknown sandbox', async () => {
    const { cri } = await start();
    await expect(createContainer(cri, 'f'.repeat(64), 'app')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it('filters sandboxes and containers by id prefix, state, sandbox and labels', async () => {
    const { cri } = await start();
    const web = await runPod(cri, 'web', { tier: 'front' });
    const db = await runPod(cri, 'db', { tier: 'back' });
    await rt(cri, 'StopPodSandbox', { pod_sandbox_id: db });
    const list = async (filter: CriMessage): Promise<unknown[]> => ids((await rt(cri, 'ListPodSandbox', { filter }))['items']);
    expect(await list({ id: web.slice(0, 8) })).toEqual([web]);
    expect(await list({ state: { state: 'SANDBOX_NOTREADY' } })).toEqual([db]);
    expect(await list({ label_selector: { tier: 'front' } })).toEqual([web]);

    const app = await createContainer(cri, web, 'app', { role: 'app' });
    const side = await createContainer(cri, web, 'side', { role: 'side' });
    await rt(cri, 'StartContainer', { container_id: side });
    const containers = async (filter: CriMessage): Promise<unknown[]> => ids((await rt(cri, 'ListContainers', { filter }))['containers']);
    expect(await containers({ pod_sandbox_id: web })).toEqual([app, side]);
    expect(await containers({ state: { state: 'CONTAINER_RUNNING' } })).toEqual([side]);
    expect(await containers({ label_selector: { role: 'app' } })).toEqual([app]);
    expect(await containers({ pod_sandbox_id: db })).toEqual([]);
  });

  it('passes a raw Buffer response, unknown field 999 included, to the client byte for byte', async () => {
    const { fake } = await start();
    const answer = withUnknownField(fake.encodeResponse('Version', { runtime_name: 'alpha', version: '0.1.0' }), 999, 'future');
    fake.setHandler('Version', () => answer);
    const raw = new grpc.Client(fake.address, grpc.credentials.createInsecure());
    try {
      const request = Buffer.from([0x0a, 0x02, 0x76, 0x31]); // VersionRequest{version: "v1"}
      const received = await new Promise<Buffer>((resolve, reject) =>
        raw.makeUnaryRequest<Buffer, Buffer>(
          criMethod('RuntimeService', 'Version').path,
          (b) => b,
          (b) => b,
          request,
          (err, value) => (err || value === undefined ? reject(err) : resolve(value)),
        ),
      );
      expect(received).toEqual(answer);
      expect(fake.journal[0]?.raw).toEqual(request);
    } finally {
      raw.close();
    }
  });

  it('keeps its state across stop and restart, and is unreachable in between', async () => {
    const { fake, cri } = await start();
    const podId = await runPod(cri, 'web');
    await fake.stop();
    expect(fake.running).toBe(false);
    await expect(cri.call('RuntimeService', 'Version', {}, { deadlineMs: 1000 })).rejects.toMatchObject({
      code: expect.toSatisfy((code: number) => code === grpc.status.UNAVAILABLE || code === grpc.status.DEADLINE_EXCEEDED),
    });
    await fake.restart();
    await cri.waitForReady(5000);
    expect(ids((await rt(cri, 'ListPodSandbox'))['items'])).toEqual([podId]);
  });

  it('streams lists in batches of at most two, and can refuse streams like an older runtime', async () => {
    const { cri } = await start();
    const pods = [];
    for (const name of ['a', 'b', 'c', 'd', 'e']) pods.push(await runPod(cri, name));
    const batches = await cri.stream('RuntimeService', 'StreamPodSandboxes', { filter: null });
    expect(batches.map((b) => (Array.isArray(b['pod_sandboxes']) ? b['pod_sandboxes'].length : 0))).toEqual([2, 2, 1]);
    expect(batches.flatMap((b) => ids(b['pod_sandboxes']))).toEqual(pods);
    expect(STREAM_BATCH_SIZE).toBe(2);

    const { cri: old } = await start('old', { streamsUnimplemented: true });
    await expect(old.stream('ImageService', 'StreamImages')).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });
  });

  it('emits container events on an open stream, and breaks it on endEvents', async () => {
    const { fake, cri } = await start();
    const stream = cri.openStream('RuntimeService', 'GetContainerEvents');
    const events: CriMessage[] = [];
    const ended = new Promise<unknown>((resolve) => stream.on('error', resolve));
    stream.on('data', (event: CriMessage) => events.push(event));
    await fake.waitForEventSubscribers(1);
    const podId = await runPod(cri, 'web');
    const id = await createContainer(cri, podId, 'app');
    await rt(cri, 'StartContainer', { container_id: id });
    await rt(cri, 'StopContainer', { container_id: id });
    await rt(cri, 'RemoveContainer', { container_id: id });
    await expect.poll(() => events.length).toBe(4);
    expect(events.map((e) => [e['container_id'], e['container_event_type']])).toEqual([
      [id, 'CONTAINER_CREATED_EVENT'],
      [id, 'CONTAINER_STARTED_EVENT'],
      [id, 'CONTAINER_STOPPED_EVENT'],
      [id, 'CONTAINER_DELETED_EVENT'],
    ]);
    fake.endEvents({ code: grpc.status.UNAVAILABLE, details: 'runtime restarting' });
    expect(await ended).toMatchObject({ code: grpc.status.UNAVAILABLE, details: 'runtime restarting' });
    expect(fake.eventSubscribers()).toBe(0);
  });

  it('injects failures, latency and replacement handlers', async () => {
    const { fake, cri } = await start();
    fake.failNext('Version', { code: grpc.status.RESOURCE_EXHAUSTED, details: 'busy' });
    await expect(rt(cri, 'Version')).rejects.toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED, details: 'busy' });
    await expect(rt(cri, 'Version')).resolves.toMatchObject({ runtime_name: 'alpha' });

    fake.delay('Status', 300);
    await expect(cri.call('RuntimeService', 'Status', {}, { deadlineMs: 50 })).rejects.toMatchObject({
      code: grpc.status.DEADLINE_EXCEEDED,
    });
    expect(fake.journal.at(-1)?.deadline).toBeDefined();

    fake.setHandler('ListImages', async () => {
      throw statusError(grpc.status.PERMISSION_DENIED, 'no');
    });
    await expect(cri.call('ImageService', 'ListImages')).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    fake.setHandler('StreamImages', async function* () {
      yield { images: [{ id: 'sha256:1' }] };
      yield { images: [{ id: 'sha256:2' }] };
    });
    expect((await cri.stream('ImageService', 'StreamImages')).flatMap((m) => ids(m['images']))).toEqual(['sha256:1', 'sha256:2']);
    fake.resetHandler('StreamImages');
    expect(await cri.stream('ImageService', 'StreamImages')).toEqual([]);
  });

  it('stores images under ids derived from their names, the same on every fake', async () => {
    const { cri: a } = await start('a');
    const { fake: b, cri: bClient } = await start('b', { images: ['busybox:1.36'] });
    const pulled = await a.call('ImageService', 'PullImage', { image: { image: 'busybox:1.36' } });
    expect(pulled).toEqual({ image_ref: imageIdFor('busybox:1.36') });
    expect(b.state.images.has(imageIdFor('busybox:1.36'))).toBe(true);
    expect((await bClient.call('ImageService', 'ImageStatus', { image: { image: 'busybox:1.36' } }))['image']).toMatchObject({
      id: imageIdFor('busybox:1.36'),
    });
    expect(await a.call('ImageService', 'ImageStatus', { image: { image: 'nginx' } })).toMatchObject({ image: null });
    await a.call('ImageService', 'RemoveImage', { image: { image: 'busybox:1.36' } });
    await a.call('ImageService', 'RemoveImage', { image: { image: 'busybox:1.36' } }); // idempotent
    expect(await a.call('ImageService', 'ListImages')).toEqual({ images: [] });
    const fs = await a.call('ImageService', 'ImageFsInfo');
    expect(fs['image_filesystems']).toMatchObject([{ fs_id: { mountpoint: '/var/lib/a' } }]);
    expect(fs['container_filesystems']).toMatchObject([{ fs_id: { mountpoint: '/var/lib/a' } }]);
  });

  it('reports status, runtime config, stats and metrics', async () => {
    const { fake, cri } = await start('alpha', { cgroupDriver: 'CGROUPFS' });
    const status = await rt(cri, 'Status', { verbose: true });
    expect(status).toMatchObject({
      status: { conditions: [{ type: 'RuntimeReady', status: true }, { type: 'NetworkReady', status: true }] },
      runtime_handlers: [{ name: '' }, { name: 'runc' }, { name: 'alpha' }],
    });
    expect(status['info']).toHaveProperty('config');
    expect(await rt(cri, 'RuntimeConfig')).toEqual({ linux: { cgroup_driver: 'CGROUPFS' } });
    await rt(cri, 'UpdateRuntimeConfig', { runtime_config: { network_config: { pod_cidr: '10.88.0.0/16' } } });
    expect(fake.state.lastRuntimeConfig).toMatchObject({ runtime_config: { network_config: { pod_cidr: '10.88.0.0/16' } } });

    const podId = await runPod(cri, 'web');
    const id = await createContainer(cri, podId, 'app');
    expect((await rt(cri, 'ListContainerStats'))['stats']).toMatchObject([{ attributes: { id } }]);
    expect((await rt(cri, 'ContainerStats', { container_id: id }))['stats']).toMatchObject({ attributes: { id } });
    expect((await rt(cri, 'PodSandboxStats', { pod_sandbox_id: podId }))['stats']).toMatchObject({
      attributes: { id: podId },
      linux: { containers: [{ attributes: { id } }] },
    });
    const descriptors = (await rt(cri, 'ListMetricDescriptors'))['descriptors'];
    expect(descriptors).toMatchObject([{ name: 'alpha_cpu' }, { name: SHARED_METRIC }]);

    const { cri: old } = await start('old', { runtimeConfigUnimplemented: true });
    await expect(rt(old, 'RuntimeConfig')).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });
  });

  it('merges journals of several fakes in arrival order', async () => {
    const { fake: a, cri: aClient } = await start('a');
    const { fake: b, cri: bClient } = await start('b');
    await rt(aClient, 'Version');
    await rt(bClient, 'Status');
    await rt(aClient, 'ListPodSandbox');
    expect(takeMethods(a, b)).toEqual(['a/Version', 'b/Status', 'a/ListPodSandbox']);
    expect(a.journal).toEqual([]);
  });
});
