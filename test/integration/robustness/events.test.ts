// GetContainerEvents must never stay open while silently missing a backend's events
// (README "When a backend fails"; CRI-NOTES pitfall 19).
import { afterEach, describe, expect, it } from 'vitest';
import { GrpcStatus, isCriError } from '../../support/cri-client.js';
import { collectEvents } from '../../support/events.js';
import { startMux, type Mux } from '../../support/mux-harness.js';

let mux: Mux | undefined;
afterEach(async () => {
  await mux?.close();
  mux = undefined;
});


describe('an optional backend that was down when the event stream opened', () => {
  it('ends the stream with UNAVAILABLE once it is back, and the next stream carries its events', async () => {
    mux = await startMux({ backends: [{ name: 'a' }, { name: 'vm', optional: true }], yaml: 'routing:\n  annotationBackends: [a, vm]\nfailure:\n  probeInterval: 100ms\n' });
    const m = mux;
    await m.fakes['vm']!.stop();
    const first = collectEvents(m.client.openStream('RuntimeService', 'GetContainerEvents', {}));
    await m.fakes['a']!.waitForEventSubscribers(1);
    await expect.poll(() => m.logLines.some((l) => l.includes('optional backend is down; container events proceed without it'))).toBe(true);

    await m.fakes['vm']!.restart();
    // Without this, the open stream would carry no vm events at all: a container dying on vm
    // would go unseen by kubelet's evented PLEG.
    const err = await Promise.race([first.ended, new Promise((r) => setTimeout(() => r('still open'), 3000))]);
    expect(isCriError(err, GrpcStatus.UNAVAILABLE)).toBe(true);
    expect((err as Error).message).toMatch(/backend vm is back/);

    const second = collectEvents(m.client.openStream('RuntimeService', 'GetContainerEvents', {}));
    await m.fakes['vm']!.waitForEventSubscribers(1);
    const pod = await m.client.call<{ pod_sandbox_id: string }>('RuntimeService', 'RunPodSandbox', {
      config: { metadata: { name: 'p', namespace: 'ns', uid: 'u' }, annotations: { 'cri-mux.io/backend': 'vm' } },
    });
    const c = await m.client.call<{ container_id: string }>('RuntimeService', 'CreateContainer', {
      pod_sandbox_id: pod.pod_sandbox_id,
      config: { metadata: { name: 'c' }, image: { image: 'i' } },
    });
    await expect.poll(() => second.events, { timeout: 3000 }).toEqual([c.container_id]);
  });
});
