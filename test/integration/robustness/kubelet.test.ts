// kubelet's expectations of a CRI runtime (CRI-NOTES 5.1 and pitfalls 4, 5, 17), checked
// through the proxy: deadlines as kubelet sets them, codes and messages as the runtime gave
// them, UNIMPLEMENTED where kubelet has a fallback keyed on it.
import { afterEach, describe, expect, it } from 'vitest';
import { GrpcStatus, isCriError } from '../../support/cri-client.js';
import { statusError } from '../../support/fake-runtime.js';
import { startMux, type Mux } from '../../support/mux-harness.js';

const POD = { config: { metadata: { name: 'p', namespace: 'n', uid: 'u' } } };

async function podAndContainer(mux: Mux): Promise<{ pod_sandbox_id: string; container_id: string }> {
  const { pod_sandbox_id } = await mux.client.call<{ pod_sandbox_id: string }>('RuntimeService', 'RunPodSandbox', POD);
  const { container_id } = await mux.client.call<{ container_id: string }>('RuntimeService', 'CreateContainer', { pod_sandbox_id, config: { metadata: { name: 'c' }, image: { image: 'i' } } });
  return { pod_sandbox_id, container_id };
}

describe('kubelet compatibility', () => {
  let mux: Mux | undefined;
  afterEach(async () => {
    await mux?.close();
    mux = undefined;
  });

  it('ExecSync with timeout 0 runs without a deadline, even on a backend with a configured timeout', async () => {
    mux = await startMux({ backends: [{ name: 'a', timeout: '300ms' }] });
    const { container_id } = await podAndContainer(mux);
    const seen: unknown[] = [];
    mux.fakes['a']!.setHandler('ExecSync', async (_req, _raw, call) => {
      seen.push(call.deadline);
      await new Promise((r) => setTimeout(r, 600));
      return { stdout: Buffer.from('done'), exit_code: 0 };
    });
    // kubelet: no deadline at all when the command's timeout is 0 ("run forever").
    const res = await mux.client.call<{ stdout: Buffer }>('RuntimeService', 'ExecSync', { container_id, cmd: ['sleep', '1'], timeout: 0 }, { deadlineMs: 0 });
    expect(res.stdout.toString()).toBe('done');
    expect(seen[0] === undefined || seen[0] === Infinity).toBe(true);
    // With a command timeout and no client deadline, the backend's cap still applies.
    const capped = await mux.client.call('RuntimeService', 'ExecSync', { container_id, cmd: ['sleep', '1'], timeout: 5 }, { deadlineMs: 0 }).catch((e: unknown) => e);
    expect(isCriError(capped, GrpcStatus.DEADLINE_EXCEEDED)).toBe(true);
  });

  it('StopContainer reaches the backend with kubelet\'s deadline (timeout + grace), not a shorter one', async () => {
    mux = await startMux({ backends: [{ name: 'a', timeout: '1s' }] });
    const { container_id } = await podAndContainer(mux);
    let deadline: unknown;
    mux.fakes['a']!.setHandler('StopContainer', (_req, _raw, call) => {
      deadline = call.deadline;
      return {};
    });
    const sent = Date.now();
    await mux.client.call('RuntimeService', 'StopContainer', { container_id, timeout: 30 }, { deadlineMs: 150_000 });
    const ms = (deadline instanceof Date ? deadline.getTime() : Number(deadline)) - sent;
    expect(ms).toBeGreaterThan(140_000);
    expect(ms).toBeLessThanOrEqual(150_100);
  });

  it('PullImage: an Unknown error reaches kubelet with its message unchanged, and an empty image_ref is relayed as it is', async () => {
    mux = await startMux({ backends: [{ name: 'a' }, { name: 'b' }] });
    const message = 'failed to pull and unpack image "x": failed to resolve reference "x": pull access denied, repository does not exist or may require authorization';
    mux.fakes['a']!.failNext('PullImage', statusError(GrpcStatus.UNKNOWN, message));
    const err = await mux.client.call('ImageService', 'PullImage', { image: { image: 'x' } }, { deadlineMs: 0 }).catch((e: unknown) => e);
    expect(isCriError(err, GrpcStatus.UNKNOWN)).toBe(true);
    expect((err as { details: string }).details).toBe(message);
    mux.fakes['a']!.setHandler('PullImage', () => ({ image_ref: '' }));
    await expect(mux.client.call('ImageService', 'PullImage', { image: { image: 'x' } }, { deadlineMs: 0 })).resolves.toMatchObject({ image_ref: '' });
  });

  it('ContainerStatus answers NOT_FOUND for a container its owner no longer has, and for one no backend knows', async () => {
    mux = await startMux({ backends: [{ name: 'a' }, { name: 'b' }] });
    const { container_id } = await podAndContainer(mux);
    mux.fakes['a']!.failNext('ContainerStatus', statusError(GrpcStatus.NOT_FOUND, `an error occurred when try to find container "${container_id}": not found`));
    const gone = await mux.client.call('RuntimeService', 'ContainerStatus', { container_id }).catch((e: unknown) => e);
    expect(isCriError(gone, GrpcStatus.NOT_FOUND)).toBe(true);
    expect((gone as { details: string }).details).toContain('not found');
    const never = await mux.client.call('RuntimeService', 'ContainerStatus', { container_id: 'f'.repeat(64) }).catch((e: unknown) => e);
    expect(isCriError(never, GrpcStatus.NOT_FOUND)).toBe(true);
  });

  it('Stream* over runtimes without the stream or the list: UNIMPLEMENTED before any message (kubelet falls back)', async () => {
    mux = await startMux({ backends: [{ name: 'a', fake: { streamsUnimplemented: true } }, { name: 'b', fake: { streamsUnimplemented: true } }] });
    for (const name of ['a', 'b']) {
      mux.fakes[name]!.setHandler('ListPodSandboxMetrics', () => {
        throw statusError(GrpcStatus.UNIMPLEMENTED, 'unknown method ListPodSandboxMetrics');
      });
    }
    const s = mux.client.openStream('RuntimeService', 'StreamPodSandboxMetrics', {}, { deadlineMs: 10_000 });
    const received: unknown[] = [];
    s.on('data', (m: unknown) => received.push(m));
    const err = await new Promise<unknown>((resolve) => s.on('error', resolve));
    expect(isCriError(err, GrpcStatus.UNIMPLEMENTED)).toBe(true);
    expect(received).toEqual([]);
  });

  it('Status with verbose: every backend\'s info, and the conditions kubelet reads', async () => {
    mux = await startMux({ backends: [{ name: 'a' }, { name: 'b', optional: true }] });
    const res = await mux.client.call<{ status: { conditions: { type: string; status: boolean }[] }; info: Record<string, string> }>('RuntimeService', 'Status', { verbose: true });
    expect(res.status.conditions.map((c) => [c.type, c.status])).toEqual([['RuntimeReady', true], ['NetworkReady', true]]);
    expect(Object.keys(res.info)).toContain('cri-mux');
  });
});
