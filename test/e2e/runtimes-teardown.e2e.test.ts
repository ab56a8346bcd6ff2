// `runtimes.sh down` must leave nothing behind even when a containerd died with pods running
// (the case that matters after a crashed or killed test run): no daemon, shim or container
// process, no mount under the state dir, no bridge.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { describe, it, expect, afterAll } from 'vitest';
import { CriClient, loadCriSample } from '../support/cri-client.js';
import { eventually } from '../support/eventually.js';
import { makeStateDir, realRuntimesAvailable, startRuntimeEnv, type RuntimeEnv } from '../support/runtime-env.js';

/** Pids whose command line mentions `needle` (our state dir is unique, so this finds only ours). */
function pidsMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** Resolves once /proc/PID is gone (a killed process stays visible until it is reaped). */
function gone(pid: number): Promise<true> {
  return eventually(`process ${pid} to be gone`, async () => (existsSync(`/proc/${pid}`) ? undefined : true), 5_000, 100);
}

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(`${dir}/`));
}

describe.skipIf(!realRuntimesAvailable())('runtimes.sh down after a runtime crash', () => {
  let env: RuntimeEnv | undefined;

  afterAll(async () => {
    // The test keeps the state dir to inspect it; remove it here, also when the test failed.
    await env?.stop({ keepStateDir: true });
    if (env) await rm(env.stateDir, { recursive: true, force: true });
  }, 180_000);

  it('kills containers, shims and mounts of a SIGKILLed containerd', async () => {
    env = await startRuntimeEnv(await makeStateDir(), { instances: 1 });
    const inst = env.instance('a');
    const cri = new CriClient(inst.socket);
    const workloadPids: number[] = []; // the pause process and the container's sleep
    try {
      const sandboxConfig = loadCriSample('sandbox_config.json', {
        overrides: { metadata: { name: 'crash', uid: `crash-${process.pid}`, namespace: 'cri-mux-e2e', attempt: 0 } },
      });
      const { pod_sandbox_id } = await cri.call<{ pod_sandbox_id: string }>('RuntimeService', 'RunPodSandbox', {
        config: sandboxConfig,
      });
      await cri.call('ImageService', 'PullImage', { image: { image: env.images.busybox } }, { deadlineMs: 0 });
      const config = loadCriSample('container_sleep.json', {
        image: env.images.busybox,
        overrides: { metadata: { name: 'sleeper' }, command: ['sleep', '3600'], args: [] },
      });
      const { container_id } = await cri.call<{ container_id: string }>('RuntimeService', 'CreateContainer', {
        pod_sandbox_id,
        config,
        sandbox_config: sandboxConfig,
      });
      await cri.call('RuntimeService', 'StartContainer', { container_id });
      const pod = await cri.call<{ info: Record<string, string> }>('RuntimeService', 'PodSandboxStatus', {
        pod_sandbox_id,
        verbose: true,
      });
      const ctr = await cri.call<{ info: Record<string, string> }>('RuntimeService', 'ContainerStatus', {
        container_id,
        verbose: true,
      });
      for (const info of [pod.info, ctr.info]) {
        const pid = (JSON.parse(info.info ?? '{}') as { pid?: unknown }).pid;
        expect(typeof pid).toBe('number');
        workloadPids.push(pid as number);
      }
    } finally {
      cri.close();
    }

    // The runtime dies; its shims and containers live on.
    process.kill(inst.pid, 'SIGKILL');
    const shimsBefore = pidsMentioning(inst.socket);
    expect(shimsBefore.length).toBeGreaterThan(0);
    for (const pid of workloadPids) expect(existsSync(`/proc/${pid}`)).toBe(true);
    expect(mountsUnder(env.stateDir).length).toBeGreaterThan(0);

    await env.stop({ keepStateDir: true });
    expect(pidsMentioning(env.stateDir)).toEqual([]);
    for (const pid of [...shimsBefore, ...workloadPids]) await gone(pid);
    expect(mountsUnder(env.stateDir)).toEqual([]);
    expect(() => execFileSync('ip', ['link', 'show', inst.bridge], { stdio: 'ignore' })).toThrow();
  }, 180_000);
});
