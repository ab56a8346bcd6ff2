// The proxy forwards bytes: unknown fields, big messages, metadata, deadlines and
// cancellation reach the backend as the client sent them.
import { Metadata } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CriSchema } from '../../../src/cri/schema.js';
import { encodeField, entries, peekString } from '../../../src/cri/wire.js';
import { GrpcStatus, isCriError } from '../../support/cri-client.js';
import { startMux, type Mux } from '../../support/mux-harness.js';

const schema = new CriSchema();
const future = (n: number, text: string): Buffer => encodeField(n, Buffer.from(text));

describe('bytes, not objects', () => {
  let mux: Mux;
  beforeEach(async () => {
    mux = await startMux({ backends: [{ name: 'a' }, { name: 'b' }], yaml: 'routing:\n  annotationBackends: [a, b]\n  rules:\n    - { name: vm, match: { runtimeHandler: kata }, backend: b, handler: runc }\n' });
  });
  afterEach(() => mux.close());

  async function podOn(backend: string): Promise<string> {
    const res = await mux.client.call<{ pod_sandbox_id: string }>('RuntimeService', 'RunPodSandbox', {
      config: { metadata: { name: 'p', namespace: 'ns', uid: 'u' }, annotations: { 'cri-mux.io/backend': backend } },
    });
    return res.pod_sandbox_id;
  }

  it('delivers a request field the schema does not know to the backend intact', async () => {
    const pod = await podOn('b');
    const request = Buffer.concat([schema.encode('PodSandboxStatusRequest', { pod_sandbox_id: pod, verbose: true }), future(4242, 'from-a-newer-kubelet')]);
    await mux.raw('PodSandboxStatus', request);
    const got = mux.fakes['b']!.journal.findLast((e) => e.method === 'PodSandboxStatus')!.raw;
    expect(got.equals(request)).toBe(true);
  });

  it('delivers a request field the schema does not know on a new pod, even with a handler rewrite', async () => {
    const base = schema.encode('RunPodSandboxRequest', { config: { metadata: { name: 'p' }, annotations: { 'cri-mux.io/backend': 'b' } }, runtime_handler: 'runc' });
    const request = Buffer.concat([base, future(4242, 'top'), encodeField(1, future(999, 'inside-config'))]);
    await mux.raw('RunPodSandbox', request);
    const got = mux.fakes['b']!.journal.findLast((e) => e.method === 'RunPodSandbox')!.raw;
    expect(got.equals(request)).toBe(true);

    const rewritten = Buffer.concat([schema.encode('RunPodSandboxRequest', { config: { metadata: { name: 'q' } }, runtime_handler: 'kata' }), future(4242, 'top'), encodeField(1, future(999, 'inside-config'))]);
    await mux.raw('RunPodSandbox', rewritten);
    const got2 = mux.fakes['b']!.journal.findLast((e) => e.method === 'RunPodSandbox')!.raw;
    expect(peekString(got2, [2])).toBe('runc');
    expect(peekString(got2, [4242])).toBe('top');
    expect(peekString(got2, [1, 999])).toBe('inside-config');
    expect(peekString(got2, [1, 1, 1])).toBe('q');
    expect(peekString(got, [1, 999])).toBe('inside-config');
  });

  it('returns a response field the schema does not know to the client intact', async () => {
    const pod = await podOn('a');
    const fake = mux.fakes['a']!;
    const response = Buffer.concat([fake.encodeResponse('PodSandboxStatus', { status: { id: pod, state: 'SANDBOX_READY' } }), future(777, 'from-a-newer-runtime')]);
    fake.setHandler('PodSandboxStatus', () => response);
    const got = await mux.raw('PodSandboxStatus', schema.encode('PodSandboxStatusRequest', { pod_sandbox_id: pod }));
    expect(got.equals(response)).toBe(true);
  });

  it('keeps unknown fields of list items through a merge', async () => {
    const a = mux.fakes['a']!;
    const b = mux.fakes['b']!;
    const itemA = encodeField(1, Buffer.concat([schema.encode('Container', { id: 'ca' }), future(55, 'x-a')]));
    const itemB = encodeField(1, Buffer.concat([schema.encode('Container', { id: 'cb' }), future(55, 'x-b')]));
    a.setHandler('ListContainers', () => itemA);
    b.setHandler('ListContainers', () => itemB);
    const got = await mux.raw('ListContainers', Buffer.alloc(0));
    expect(entries(got, 1).map((c) => peekString(c, [55]))).toEqual(['x-a', 'x-b']);
  });

  it('passes messages far above grpc-js 4 MiB default both ways', async () => {
    const pod = await podOn('a');
    const big = 'x'.repeat(20 * 1024 * 1024);
    const { container_id } = await mux.client.call<{ container_id: string }>('RuntimeService', 'CreateContainer', {
      pod_sandbox_id: pod,
      config: { metadata: { name: 'big' }, image: { image: 'busybox' }, annotations: { big } },
    });
    const fake = mux.fakes['a']!;
    expect(fake.journal.findLast((e) => e.method === 'CreateContainer')!.raw.length).toBeGreaterThan(20 * 1024 * 1024);
    fake.setHandler('ExecSync', () => ({ stdout: Buffer.alloc(18 * 1024 * 1024, 1), exit_code: 0 }));
    const res = await mux.client.call<{ stdout: Buffer }>('RuntimeService', 'ExecSync', { container_id, cmd: ['cat'] });
    expect(res.stdout.length).toBe(18 * 1024 * 1024);
  });

  it('forwards client metadata such as traceparent, and the remaining deadline', async () => {
    const pod = await podOn('a');
    const md = new Metadata();
    md.set('traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    md.set('baggage', 'k=v');
    const before = Date.now();
    await mux.raw('PodSandboxStatus', schema.encode('PodSandboxStatusRequest', { pod_sandbox_id: pod }), 'RuntimeService', md);
    const entry = mux.fakes['a']!.journal.findLast((e) => e.method === 'PodSandboxStatus')!;
    expect(entry.metadata['traceparent']).toEqual(['00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01']);
    expect(entry.metadata['baggage']).toEqual(['k=v']);
    const deadline = entry.deadline instanceof Date ? entry.deadline.getTime() : Number(entry.deadline);
    expect(deadline).toBeGreaterThan(before);
    expect(deadline).toBeLessThanOrEqual(before + 10_000 + 50); // raw() sets 10 s
  });

  it('adds no deadline to PullImage, and cancels the backend call when the client cancels', async () => {
    await mux.client.call('ImageService', 'PullImage', { image: { image: 'busybox' } }, { deadlineMs: 0 });
    expect(mux.fakes['a']!.journal.findLast((e) => e.method === 'PullImage')!.deadline).toBeUndefined();

    const fake = mux.fakes['a']!;
    let cancelled = false;
    fake.setHandler('PullImage', (_req, _raw, call) => new Promise((_resolve, reject) => {
      call.signal.addEventListener('abort', () => {
        cancelled = true;
        reject({ code: GrpcStatus.CANCELLED, details: 'cancelled' });
      });
    }));
    const err = await mux.client.call('ImageService', 'PullImage', { image: { image: 'slow' } }, { deadlineMs: 300 }).catch((e: unknown) => e);
    expect(isCriError(err, GrpcStatus.DEADLINE_EXCEEDED)).toBe(true);
    await expect.poll(() => cancelled, { timeout: 3000 }).toBe(true);
  });

  it('answers malformed protobuf with INVALID_ARGUMENT and keeps serving', async () => {
    const err = await mux.raw('StopContainer', Buffer.from([0x0a, 0x40, 0x61])).catch((e: unknown) => e);
    expect(isCriError(err, GrpcStatus.INVALID_ARGUMENT)).toBe(true);
    expect((err as Error).message).toMatch(/malformed request/);
    await expect(mux.client.call('RuntimeService', 'Version', {})).resolves.toMatchObject({ runtime_name: 'cri-mux' });
  });

  it('answers UNIMPLEMENTED for a method it does not know, without hanging', async () => {
    const err = await mux.raw('FutureMethod', Buffer.alloc(0)).catch((e: unknown) => e);
    expect(isCriError(err, GrpcStatus.UNIMPLEMENTED)).toBe(true);
  });
});
