// Bad bytes from a client get INVALID_ARGUMENT with a message a person can act on, wherever
// in the request they sit, and never an INTERNAL "bug in cri-mux" (README error catalogue).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrpcStatus, isCriError } from '../../support/cri-client.js';
import { startMux, type Mux } from '../../support/mux-harness.js';

let mux: Mux;
beforeAll(async () => {
  mux = await startMux({ backends: [{ name: 'a' }, { name: 'b' }] });
});
afterAll(async () => {
  await mux.close();
});

// A length-delimited field 1 whose payload claims 64 bytes and holds one.
const TRUNCATED = Buffer.from([0x0a, 0x40, 0x61]);
const nested = (field: number, payload: Buffer): Buffer => Buffer.concat([Buffer.from([(field << 3) | 2, payload.length]), payload]);

describe('malformed request bytes inside the messages the proxy decodes', () => {
  it.each([
    ['RunPodSandbox', 'RuntimeService', nested(1, TRUNCATED)], // config.metadata truncated
    ['RestorePod', 'RuntimeService', nested(2, TRUNCATED)], // config truncated
    ['PullImage', 'ImageService', nested(3, TRUNCATED)], // sandbox_config truncated
  ] as const)('%s answers INVALID_ARGUMENT (CRIMUX_ERR_MALFORMED_REQUEST), not INTERNAL', async (method, service, bytes) => {
    const err = await mux.raw(method, bytes, service).catch((e: unknown) => e);
    expect(isCriError(err, GrpcStatus.INVALID_ARGUMENT)).toBe(true);
    expect((err as Error).message).toMatch(/malformed request: PodSandboxConfig/);
    expect(mux.logLines.filter((l) => l.includes('call failed inside cri-mux'))).toEqual([]);
    await expect(mux.client.call('RuntimeService', 'Version', {})).resolves.toMatchObject({ runtime_name: 'cri-mux' });
  });
});

describe('an answer the proxy cannot read from a backend that did the work', () => {
  it.each(['RunPodSandbox', 'CreateContainer'] as const)('%s relays the backend bytes instead of blaming the client', async (method) => {
    const m = await startMux({ backends: [{ name: 'a' }] });
    try {
      const pod = await m.client.call<{ pod_sandbox_id: string }>('RuntimeService', 'RunPodSandbox', { config: { metadata: { name: 'p', namespace: 'n', uid: 'u' } } });
      // The object was created; only the answer is unreadable (here: a truncated field 1).
      m.fakes['a']!.setHandler(method, () => TRUNCATED);
      const request = method === 'RunPodSandbox'
        ? { config: { metadata: { name: 'q', namespace: 'n', uid: 'v' } } }
        : { pod_sandbox_id: pod.pod_sandbox_id, config: { metadata: { name: 'c' }, image: { image: 'i' } } };
      const err = await m.client.call('RuntimeService', method, request).catch((e: unknown) => e);
      // Before: INVALID_ARGUMENT "malformed request" — kubelet would blame its own request
      // and create the object again. Now the client sees the backend bytes and judges them.
      expect(isCriError(err, GrpcStatus.INVALID_ARGUMENT)).toBe(false);
      expect(m.logLines.some((l) => l.includes('relaying it as is'))).toBe(true);
    } finally {
      await m.close();
    }
  });
});
