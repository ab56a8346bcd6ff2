// Proves the real-runtime test environment itself (scripts/runtimes.sh): two containerd
// instances, each spoken to DIRECTLY over its own CRI socket (no proxy), can run the classic
// crictl walkthrough with the cri-o sample configs, and stay isolated from each other.
// If this file fails, every e2e test of the proxy will fail too: fix the environment first.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { CriClient, GrpcStatus, isCriError, loadCriSample, type CriMessage } from '../support/cri-client.js';
import { eventually } from '../support/eventually.js';
import {
  makeStateDir,
  missingRuntimePrerequisites,
  realRuntimesAvailable,
  startRuntimeEnv,
  type RuntimeEnv,
  type RuntimeInstance,
} from '../support/runtime-env.js';

const SLOW = 120_000; // per test: pulls, pod starts and stops take seconds on a 2-core machine

interface Condition {
  type: string;
  status: boolean;
  reason?: string;
  message?: string;
}

const available = realRuntimesAvailable();
if (!available) {
  console.warn(`skipping real-runtime e2e: missing ${missingRuntimePrerequisites().join(', ')}`);
}

describe.skipIf(!available)('real runtime environment (containerd × 2, direct)', () => {
  let env: RuntimeEnv;
  const clients = new Map<string, CriClient>();

  beforeAll(async () => {
    env = await startRuntimeEnv(await makeStateDir(), { instances: 2 });
    for (const inst of env.instances) clients.set(inst.name, new CriClient(inst.socket));
  }, 240_000);

  afterAll(async () => {
    for (const c of clients.values()) c.close();
    await env?.stop();
  }, 180_000);

  it('writes env.json with a loopback registry and two distinct instances', () => {
    expect(env.registry).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(env.images.busybox).toBe(`${env.registry}/cri-mux/busybox:1`);
    expect(env.images.pause).toBe(`${env.registry}/cri-mux/pause:1`);
    expect(env.instances.map((i) => i.name)).toEqual(['a', 'b']);
    const [a, b] = env.instances as [RuntimeInstance, RuntimeInstance];
    expect(a.socket).not.toBe(b.socket);
    expect(a.bridge).not.toBe(b.bridge);
    expect(a.subnet).not.toBe(b.subnet);
  });

  // The walkthrough, once per instance. Tests in a file run in order; each step needs the last.
  describe.each(['a', 'b'])('instance %s', (name) => {
    let cri: CriClient;
    let inst: RuntimeInstance;
    let podId = '';
    let containerId = '';
    let podLogDir = '';
    const podUid = `cri-mux-e2e-${name}-${process.pid}`;

    beforeAll(() => {
      inst = env.instance(name);
      cri = clients.get(name) as CriClient;
    });

    /** sandbox_config.json for this instance's pod (RunPodSandbox and CreateContainer send it). */
    const sandboxConfig = (): CriMessage =>
      loadCriSample('sandbox_config.json', {
        overrides: {
          metadata: { name: `podsandbox-${name}`, uid: podUid, namespace: 'cri-mux-e2e', attempt: 0 },
          log_directory: podLogDir,
          labels: { 'cri-mux.test/instance': name },
        },
      });

    it('answers Version', async () => {
      const v = await cri.call('RuntimeService', 'Version', { version: 'v1' });
      expect(v.runtime_name).toBe('containerd');
      expect(v.runtime_api_version).toBe('v1');
    }, SLOW);

    it('reports RuntimeReady and NetworkReady in Status', async () => {
      // The CNI config is loaded asynchronously after start-up: NetworkReady may lag a moment.
      const conditions = await eventually('RuntimeReady and NetworkReady', async () => {
        const r = await cri.call<{ status: { conditions: Condition[] } }>('RuntimeService', 'Status', {});
        const c = r.status.conditions;
        return c.every((x) => x.status) && c.length >= 2 ? c : undefined;
      });
      expect(conditions.map((c) => c.type).sort()).toEqual(['NetworkReady', 'RuntimeReady']);
    }, SLOW);

    it('answers a Stream* list with items or UNIMPLEMENTED (kubelet falls back on the latter)', async () => {
      // containerd 1.6 predates KEP-5825: the proxy's e2e tests meet UNIMPLEMENTED here.
      const outcome = await cri.stream('RuntimeService', 'StreamPodSandboxes', {}).then(
        (messages) => ({ messages }),
        (err: unknown) => ({ err }),
      );
      if ('err' in outcome) expect(isCriError(outcome.err, GrpcStatus.UNIMPLEMENTED)).toBe(true);
      else expect(Array.isArray(outcome.messages)).toBe(true);
    }, SLOW);

    it('pulls the busybox image from the local registry', async () => {
      const r = await cri.call('ImageService', 'PullImage', { image: { image: env.images.busybox } }, { deadlineMs: 0 });
      expect(r.image_ref).toMatch(/^sha256:[0-9a-f]{64}$/);
      const s = await cri.call<{ image: CriMessage | null }>('ImageService', 'ImageStatus', {
        image: { image: env.images.busybox },
      });
      expect(s.image?.id).toBe(r.image_ref);
      expect(s.image?.repo_tags).toContain(env.images.busybox);
    }, SLOW);

    it('runs a pod sandbox from cri-samples/sandbox_config.json', async () => {
      podLogDir = join(inst.logDir, podUid);
      await mkdir(podLogDir, { recursive: true });
      const r = await cri.call<{ pod_sandbox_id: string }>('RuntimeService', 'RunPodSandbox', {
        config: sandboxConfig(),
      });
      podId = r.pod_sandbox_id;
      expect(podId).toMatch(/^[0-9a-f]{64}$/);

      const s = await cri.call<{ status: { state: string; network: { ip: string } } }>(
        'RuntimeService',
        'PodSandboxStatus',
        { pod_sandbox_id: podId },
      );
      expect(s.status.state).toBe('SANDBOX_READY');
      // The pod got an address on this instance's own bridge.
      const prefix = inst.subnet.replace(/\.0\/24$/, '.');
      expect(s.status.network.ip.startsWith(prefix)).toBe(true);
    }, SLOW);

    it('keeps the instances isolated (the pod is not listed by the other one)', async () => {
      const other = clients.get(name === 'a' ? 'b' : 'a') as CriClient;
      const mine = await cri.call<{ items: CriMessage[] }>('RuntimeService', 'ListPodSandbox', {});
      const theirs = await other.call<{ items: CriMessage[] }>('RuntimeService', 'ListPodSandbox', {});
      expect(mine.items.map((p) => p.id)).toContain(podId);
      expect(theirs.items.map((p) => p.id)).not.toContain(podId);
    }, SLOW);

    it('creates and starts a busybox container from cri-samples/container_config.json', async () => {
      // container_sleep.json's resources and namespaces, container_config.json's envs, labels and
      // security context; busybox shell instead of the fedora image's /bin/ls.
      const sleep = loadCriSample('container_sleep.json');
      const config = loadCriSample('container_config.json', {
        image: env.images.busybox,
        overrides: {
          metadata: { name: `hello-${name}`, attempt: 0 },
          command: ['sh', '-c', `echo hello-from-${name}; sleep 3600`],
          args: [],
          log_path: `hello-${name}.log`,
          linux: { resources: (sleep.linux as CriMessage).resources as CriMessage },
        },
      });
      const c = await cri.call<{ container_id: string }>('RuntimeService', 'CreateContainer', {
        pod_sandbox_id: podId,
        config,
        sandbox_config: sandboxConfig(),
      });
      containerId = c.container_id;
      expect(containerId).toMatch(/^[0-9a-f]{64}$/);
      await cri.call('RuntimeService', 'StartContainer', { container_id: containerId });
      const s = await cri.call<{ status: { state: string; image_ref: string } }>('RuntimeService', 'ContainerStatus', {
        container_id: containerId,
      });
      expect(s.status.state).toBe('CONTAINER_RUNNING');
    }, SLOW);

    it('runs ExecSync in the container', async () => {
      const r = await cri.call<{ stdout: Buffer; stderr: Buffer; exit_code: number }>('RuntimeService', 'ExecSync', {
        container_id: containerId,
        cmd: ['echo', 'ok'],
        timeout: 10,
      });
      expect(r.exit_code).toBe(0);
      expect(r.stdout.toString('utf8')).toBe('ok\n');
    }, SLOW);

    it('writes the container log in CRI format under the pod log_directory', async () => {
      const path = join(podLogDir, `hello-${name}.log`);
      const line = await eventually(`a log line in ${path}`, async () => {
        const text = await readFile(path, 'utf8');
        return text.split('\n').find((l) => l.endsWith(`hello-from-${name}`));
      });
      // "<RFC3339Nano timestamp> <stream> <P|F> <content>"
      expect(line).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\S+ stdout F hello-from-${name}$`));
    }, SLOW);

    it('stops and removes the container', async () => {
      await cri.call('RuntimeService', 'StopContainer', { container_id: containerId, timeout: 2 });
      const s = await cri.call<{ status: { state: string } }>('RuntimeService', 'ContainerStatus', {
        container_id: containerId,
      });
      expect(s.status.state).toBe('CONTAINER_EXITED');
      await cri.call('RuntimeService', 'RemoveContainer', { container_id: containerId });
      const list = await cri.call<{ containers: CriMessage[] }>('RuntimeService', 'ListContainers', {
        filter: { pod_sandbox_id: podId },
      });
      expect(list.containers).toEqual([]);
    }, SLOW);

    it('stops and removes the pod sandbox', async () => {
      await cri.call('RuntimeService', 'StopPodSandbox', { pod_sandbox_id: podId });
      const s = await cri.call<{ status: { state: string } }>('RuntimeService', 'PodSandboxStatus', {
        pod_sandbox_id: podId,
      });
      expect(s.status.state).toBe('SANDBOX_NOTREADY');
      await cri.call('RuntimeService', 'RemovePodSandbox', { pod_sandbox_id: podId });
      const list = await cri.call<{ items: CriMessage[] }>('RuntimeService', 'ListPodSandbox', {});
      expect(list.items.map((p) => p.id)).not.toContain(podId);
    }, SLOW);
  });
});
