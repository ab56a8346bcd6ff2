// Metrics under abuse: every call counted exactly once whatever way it ends (deadline,
// client cancel in the middle of a back-pressured stream, proxy shutdown), the in-flight
// gauge back at 0 afterwards, and no label value a client can choose.
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { GrpcStatus, isCriError } from '../../support/cri-client.js';
import { startObsMux, type ObsMux, type Samples } from '../observability-harness.js';

async function settles(what: string, check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`never settled: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function inFlight(s: Samples): number {
  let n = 0;
  for (const [key, v] of s) if (key.startsWith('grpc_server_in_flight_calls')) n += v;
  return n;
}

function sum(s: Samples, name: string, method: string): number {
  let n = 0;
  for (const [key, v] of s) if (key.startsWith(`${name}{`) && key.includes(`grpc_method="${method}"`)) n += v;
  return n;
}

describe('metrics under abuse', () => {
  let mux: ObsMux | undefined;
  afterEach(async () => {
    await mux?.close();
    mux = undefined;
  });

  it('a unary call past its deadline and a stream cancelled while the client is not reading: counted once, in-flight back to 0', async () => {
    mux = await startObsMux();
    const before = await mux.scrape();
    const fake = mux.fakes['containerd']!;
    fake.delay('ExecSync', 1500);
    const slow = await mux.client.call('RuntimeService', 'ExecSync', { container_id: 'x', cmd: ['true'] }, { deadlineMs: 100 }).catch((e: unknown) => e);
    expect(isCriError(slow)).toBe(true);

    // A stream far larger than the HTTP/2 windows: the proxy blocks on backpressure.
    const big = 'x'.repeat(512 * 1024);
    fake.setHandler('StreamContainers', async function* () {
      for (let i = 0; i < 200; i++) yield { containers: [{ id: `c${i}`, pod_sandbox_id: 'p', metadata: { name: big } }] };
    });
    mux.fakes['kata']!.setHandler('StreamContainers', () => []);
    const stream = mux.client.openStream('RuntimeService', 'StreamContainers', {});
    stream.on('error', () => undefined);
    await new Promise<void>((resolve) => stream.once('data', () => resolve()));
    stream.pause();
    await new Promise((r) => setTimeout(r, 300));
    stream.cancel();

    await settles('in-flight back to 0', async () => inFlight(await mux!.scrape()) === 0);
    const after = await mux.scrape();
    for (const method of ['ExecSync', 'StreamContainers']) {
      expect(sum(after, 'grpc_server_started_total', method) - sum(before, 'grpc_server_started_total', method), method).toBe(1);
      expect(sum(after, 'grpc_server_handled_total', method) - sum(before, 'grpc_server_handled_total', method), method).toBe(1);
    }
  });

  it('shutdown with an event stream, a list stream and a unary call open ends each once and leaves nothing in flight', async () => {
    mux = await startObsMux();
    const fake = mux.fakes['containerd']!;
    const { pod_sandbox_id } = await mux.client.call<{ pod_sandbox_id: string }>('RuntimeService', 'RunPodSandbox', { config: { metadata: { name: 'p', namespace: 'n', uid: 'u' } } });
    const { container_id } = await mux.client.call<{ container_id: string }>('RuntimeService', 'CreateContainer', { pod_sandbox_id, config: { metadata: { name: 'c' }, image: { image: 'i' } } });
    fake.delay('StopContainer', 60_000);
    fake.setHandler('StreamContainers', async function* (_req, _raw, call) {
      yield { containers: [{ id: 'c1', pod_sandbox_id: 'p', metadata: { name: 'n' } }] };
      await new Promise((resolve) => call.signal.addEventListener('abort', resolve));
    });
    const events = mux.client.openStream('RuntimeService', 'GetContainerEvents', {});
    events.on('error', () => undefined);
    const list = mux.client.openStream('RuntimeService', 'StreamContainers', {});
    list.on('error', () => undefined);
    const unary = mux.client.call('RuntimeService', 'StopContainer', { container_id, timeout: 1 }).catch((e: unknown) => e);
    await fake.waitForEventSubscribers(1);
    await settles('three calls in flight', async () => inFlight(await mux!.scrape()) === 3);
    await mux.proxy.close();
    await unary;
    const after = await mux.scrape();
    expect(inFlight(after)).toBe(0);
    for (const method of ['GetContainerEvents', 'StreamContainers', 'StopContainer']) {
      expect(sum(after, 'grpc_server_handled_total', method), method).toBe(1);
    }
  }, 20_000);

  it('unknown methods and services add no series', async () => {
    mux = await startObsMux();
    const keys = (s: Samples) => [...s.keys()].filter((k) => k.startsWith('grpc_') || k.startsWith('crimux_')).sort();
    await mux.client.call('RuntimeService', 'Version', {});
    const before = keys(await mux.scrape());
    const raw = new grpc.Client(`unix://${mux.config.listen.socket}`, grpc.credentials.createInsecure());
    for (const p of ['/runtime.v1.RuntimeService/NoSuchMethod', '/evil.Service/x', '/runtime.v1.RuntimeService/Version/../x', `/${'a'.repeat(300)}/b`]) {
      const err = await new Promise<unknown>((resolve) => {
        raw.makeUnaryRequest(p, (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), new grpc.Metadata(), { deadline: Date.now() + 5000 }, (e) => resolve(e));
      });
      expect(isCriError(err, GrpcStatus.UNIMPLEMENTED), p).toBe(true);
    }
    raw.close();
    await mux.client.call('RuntimeService', 'Version', {});
    expect(keys(await mux.scrape())).toEqual(before);
  });
});
