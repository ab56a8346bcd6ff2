// cri-mux in front of two real containerd instances, driven only through its socket with
// crictl-style configs (cri-samples): the pod routed by annotation lands on instance b, the
// other on the default instance a, each exists only there, and a SIGKILLed proxy loses nothing.
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CriClient, loadCriSample, type CriMessage } from '../support/cri-client.js';
import { eventually } from '../support/eventually.js';
import { spawnMux, writeMuxConfig, type MuxProcess } from '../support/mux-process.js';
import { makeStateDir, missingRuntimePrerequisites, realRuntimesAvailable, startRuntimeEnv, type RuntimeEnv } from '../support/runtime-env.js';

const SLOW = 120_000;

const available = realRuntimesAvailable();
if (!available) console.warn(`skipping proxy e2e: missing ${missingRuntimePrerequisites().join(', ')}`);

interface Workload {
  name: string;
  backend: 'a' | 'b';
  annotations: Record<string, string>;
  podId: string;
  containerId: string;
  logDir: string;
}

describe.skipIf(!available)('cri-mux in front of two real containerd instances', () => {
  let env: RuntimeEnv;
  let socket: string;
  let configPath: string;
  let proxy: MuxProcess | undefined;
  let mux: CriClient;
  const direct = new Map<string, CriClient>();
  const pods: Workload[] = [
    { name: 'default-pod', backend: 'a', annotations: {}, podId: '', containerId: '', logDir: '' },
    { name: 'annotated-pod', backend: 'b', annotations: { 'cri-mux.io/backend': 'b' }, podId: '', containerId: '', logDir: '' },
  ];

  async function startProxy(): Promise<void> {
    proxy = await spawnMux(configPath, socket);
    mux = proxy.client;
  }

  beforeAll(async () => {
    env = await startRuntimeEnv(await makeStateDir('cri-mux-proxy-e2e-'), { instances: 2 });
    for (const inst of env.instances) direct.set(inst.name, new CriClient(inst.socket));
    socket = join(env.stateDir, 'mux', 'cri-mux.sock');
    configPath = await writeMuxConfig(env, socket, [
      'metrics: { address: "127.0.0.1:0" }',
      `audit: { path: ${join(env.stateDir, 'audit.log')} }`,
      'log: { level: info }',
    ]);
    await startProxy();
  }, 300_000);

  afterAll(async () => {
    await proxy?.stop();
    for (const c of direct.values()) c.close();
    await env?.stop();
    if (proxy) console.log(`cri-mux process log:\n${proxy.log().slice(-4000)}`);
  }, 180_000);

  const sandboxConfig = (w: Workload): CriMessage =>
    loadCriSample('sandbox_config.json', {
      overrides: {
        metadata: { name: w.name, uid: `${w.name}-${process.pid}`, namespace: 'cri-mux-e2e', attempt: 0 },
        log_directory: w.logDir,
        annotations: w.annotations,
      },
    });

  it('answers Version as cri-mux and is Ready', async () => {
    const v = await mux.call('RuntimeService', 'Version', { version: 'v1' });
    expect(v).toMatchObject({ runtime_name: 'cri-mux', runtime_api_version: 'v1' });
    await eventually('RuntimeReady and NetworkReady', async () => {
      const s = await mux.call<{ status: { conditions: { status: boolean }[] } }>('RuntimeService', 'Status', {});
      return s.status.conditions.every((c) => c.status) ? true : undefined;
    });
  }, SLOW);

  it('pulls the image into the store of the backend each pod will run on', async () => {
    for (const w of pods) {
      w.logDir = join(env.instance(w.backend).logDir, w.name);
      await mkdir(w.logDir, { recursive: true });
      const r = await mux.call('ImageService', 'PullImage', { image: { image: env.images.busybox }, sandbox_config: sandboxConfig(w) }, { deadlineMs: 0 });
      expect(r.image_ref).toMatch(/^sha256:/);
      const there = await direct.get(w.backend)!.call<{ image: CriMessage | null }>('ImageService', 'ImageStatus', { image: { image: env.images.busybox } });
      expect(there.image?.id).toBe(r.image_ref);
    }
  }, SLOW);

  it('runs each pod on its own backend only', async () => {
    for (const w of pods) {
      const r = await mux.call<{ pod_sandbox_id: string }>('RuntimeService', 'RunPodSandbox', { config: sandboxConfig(w) });
      w.podId = r.pod_sandbox_id;
    }
    for (const w of pods) {
      const other = w.backend === 'a' ? 'b' : 'a';
      const mine = await direct.get(w.backend)!.call<{ items: { id: string }[] }>('RuntimeService', 'ListPodSandbox', {});
      const theirs = await direct.get(other)!.call<{ items: { id: string }[] }>('RuntimeService', 'ListPodSandbox', {});
      expect(mine.items.map((p) => p.id)).toContain(w.podId);
      expect(theirs.items.map((p) => p.id)).not.toContain(w.podId);
    }
    const listed = await mux.call<{ items: { id: string }[] }>('RuntimeService', 'ListPodSandbox', {});
    expect(listed.items.map((p) => p.id).sort()).toEqual(pods.map((w) => w.podId).sort());
    // containerd 1.6 lacks the Stream* lists: cri-mux serves them from its unary lists.
    const streamed = await mux.stream<{ pod_sandboxes: { id: string }[] }>('RuntimeService', 'StreamPodSandboxes', {});
    expect(streamed.flatMap((m) => m.pod_sandboxes.map((p) => p.id)).sort()).toEqual(pods.map((w) => w.podId).sort());
  }, SLOW);

  it('creates and starts a container in each pod, lists them, and runs ExecSync', async () => {
    const sleep = loadCriSample('container_sleep.json');
    for (const w of pods) {
      const config = loadCriSample('container_config.json', {
        image: env.images.busybox,
        overrides: {
          metadata: { name: `hello-${w.name}`, attempt: 0 },
          command: ['sh', '-c', `echo hello-from-${w.name}; sleep 3600`],
          args: [],
          log_path: 'hello.log',
          linux: { resources: (sleep['linux'] as CriMessage)['resources'] as CriMessage },
        },
      });
      const c = await mux.call<{ container_id: string }>('RuntimeService', 'CreateContainer', { pod_sandbox_id: w.podId, config, sandbox_config: sandboxConfig(w) });
      w.containerId = c.container_id;
      await mux.call('RuntimeService', 'StartContainer', { container_id: w.containerId });
      const exec = await mux.call<{ stdout: Buffer; exit_code: number }>('RuntimeService', 'ExecSync', { container_id: w.containerId, cmd: ['echo', `ok-${w.backend}`], timeout: 10 });
      expect(exec.exit_code).toBe(0);
      expect(exec.stdout.toString()).toBe(`ok-${w.backend}\n`);
    }
    const running = await mux.call<{ containers: { id: string; pod_sandbox_id: string }[] }>('RuntimeService', 'ListContainers', { filter: { state: { state: 'CONTAINER_RUNNING' } } });
    expect(running.containers.map((c) => c.id).sort()).toEqual(pods.map((w) => w.containerId).sort());
    for (const w of pods) {
      const onlyMine = await mux.call<{ containers: { id: string }[] }>('RuntimeService', 'ListContainers', { filter: { pod_sandbox_id: w.podId } });
      expect(onlyMine.containers.map((c) => c.id)).toEqual([w.containerId]);
    }
  }, SLOW);

  it('leaves each container log in CRI format where its pod asked', async () => {
    for (const w of pods) {
      const status = await mux.call<{ status: { log_path: string } }>('RuntimeService', 'ContainerStatus', { container_id: w.containerId });
      expect(status.status.log_path).toBe(join(w.logDir, 'hello.log'));
      const line = await eventually('a log line', async () => (await readFile(status.status.log_path, 'utf8')).split('\n').find((l) => l.endsWith(`hello-from-${w.name}`)));
      expect(line).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\S+ stdout F hello-from-${w.name}$`));
    }
  }, SLOW);

  it('serves the other RPC families as the owning runtime does', async () => {
    /** The gRPC code of a call (0 = OK), to compare the proxy with the runtime itself. */
    const codeOf = (p: Promise<unknown>): Promise<number> => p.then(() => 0, (e: unknown) => (e as { code: number }).code);
    for (const w of pods) {
      const own = direct.get(w.backend)!;
      const stats = await mux.call<{ stats: { attributes: { id: string } } }>('RuntimeService', 'ContainerStats', { container_id: w.containerId });
      expect(stats.stats.attributes.id).toBe(w.containerId);
      const listed = await mux.call<{ stats: { attributes: { id: string } }[] }>('RuntimeService', 'ListContainerStats', { filter: { pod_sandbox_id: w.podId } });
      expect(listed.stats.map((x) => x.attributes.id)).toEqual([w.containerId]);
      for (const [method, req] of [
        ['PodSandboxStats', { pod_sandbox_id: w.podId }],
        ['UpdateContainerResources', { container_id: w.containerId, linux: { cpu_shares: 256 } }],
        ['ReopenContainerLog', { container_id: w.containerId }],
      ] as const) {
        expect(await codeOf(mux.call('RuntimeService', method, req)), method).toBe(await codeOf(own.call('RuntimeService', method, req)));
      }
      // Streaming URLs are the owning runtime's own streaming server, unchanged.
      const base = (url: string): string => new URL(url).origin;
      for (const [method, req] of [
        ['Exec', { container_id: w.containerId, cmd: ['sh'], stdout: true }],
        ['Attach', { container_id: w.containerId, stdout: true }],
        ['PortForward', { pod_sandbox_id: w.podId, port: [80] }],
      ] as const) {
        const viaMux = await mux.call<{ url: string }>('RuntimeService', method, req);
        const fromOwner = await own.call<{ url: string }>('RuntimeService', method, req);
        expect(base(viaMux.url), method).toBe(base(fromOwner.url));
      }
    }
    // Each store holds the busybox image: listed once, with the default backend's filesystem first.
    const images = await mux.call<{ images: { repo_tags: string[] }[] }>('ImageService', 'ListImages', {});
    expect(images.images.filter((i) => i.repo_tags.includes(env.images.busybox))).toHaveLength(1);
    const fs = await mux.call<{ image_filesystems: { fs_id: { mountpoint: string } }[] }>('ImageService', 'ImageFsInfo', {});
    expect(fs.image_filesystems[0]!.fs_id.mountpoint.startsWith(env.instance('a').root)).toBe(true);
    expect(fs.image_filesystems.some((f) => f.fs_id.mountpoint.startsWith(env.instance('b').root))).toBe(true);
    const status = await mux.call<{ info: Record<string, string> }>('RuntimeService', 'Status', { verbose: true });
    expect(Object.keys(status.info).some((k) => k.startsWith('a.'))).toBe(true);
    expect(Object.keys(status.info).some((k) => k.startsWith('b.'))).toBe(true);
    // What containerd 1.6 lacks, the proxy lacks too: kubelet falls back on UNIMPLEMENTED.
    for (const method of ['RuntimeConfig', 'ListMetricDescriptors']) {
      expect(await codeOf(mux.call('RuntimeService', method, {})), method).toBe(await codeOf(direct.get('a')!.call('RuntimeService', method, {})));
    }
  }, SLOW);

  it('audited who asked what, where it went and how it ended; metrics counted the placements', async () => {
    const events = (await readFile(join(env.stateDir, 'audit.log'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { method: string; backends: string[]; route: { reason: string }; pod?: { name?: string }; outcome: { code: string } });
    const runs = events.filter((e) => e.method === 'RunPodSandbox');
    expect(runs.map((e) => [e.pod?.name, e.backends[0], e.route.reason, e.outcome.code])).toEqual([
      ['default-pod', 'a', 'default', 'OK'],
      ['annotated-pod', 'b', 'annotation', 'OK'],
    ]);
    expect(events.some((e) => e.method === 'ExecSync' && e.backends[0] === 'b')).toBe(true);
    const url = [...proxy!.log().matchAll(/"metrics":"(http:\/\/127\.0\.0\.1:\d+)[^"]*"/g)].at(-1)?.[1];
    expect(url, 'the metrics address in the process log').toBeDefined();
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/crimux_backend_up\{backend="b"\} 1/);
    expect(metrics).toMatch(/grpc_server_handled_total\{[^}]*grpc_method="ExecSync"[^}]*grpc_code="OK"[^}]*\} 2/);
  }, SLOW);

  it('survives SIGKILL: a new proxy still lists both pods and can act on them', async () => {
    await proxy!.crash();
    expect(existsSync(socket)).toBe(true); // the stale socket the next start must replace
    await startProxy();
    const listed = await mux.call<{ items: { id: string }[] }>('RuntimeService', 'ListPodSandbox', {});
    expect(listed.items.map((p) => p.id).sort()).toEqual(pods.map((w) => w.podId).sort());
    for (const w of pods) {
      const s = await mux.call<{ status: { state: string } }>('RuntimeService', 'ContainerStatus', { container_id: w.containerId });
      expect(s.status.state).toBe('CONTAINER_RUNNING');
    }
  }, SLOW);

  it('stops and removes containers and pods through the proxy', async () => {
    for (const w of pods) {
      await mux.call('RuntimeService', 'StopContainer', { container_id: w.containerId, timeout: 2 });
      await mux.call('RuntimeService', 'RemoveContainer', { container_id: w.containerId });
      await mux.call('RuntimeService', 'StopPodSandbox', { pod_sandbox_id: w.podId });
      await mux.call('RuntimeService', 'RemovePodSandbox', { pod_sandbox_id: w.podId });
      const left = await direct.get(w.backend)!.call<{ items: { id: string }[] }>('RuntimeService', 'ListPodSandbox', {});
      expect(left.items.map((p) => p.id)).not.toContain(w.podId);
    }
    const listed = await mux.call<{ items: CriMessage[] }>('RuntimeService', 'ListPodSandbox', {});
    expect(listed.items).toEqual([]);
  }, SLOW);
});
