// The demo's walk: the crictl sample pod through cri-mux, once per backend, saying where
// each step went. Usage: node dist/scripts/demo-walkthrough.js SOCKET ENV_JSON
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CriClient, loadCriSample, type CriMessage } from '../test/support/cri-client.js';

interface Env {
  images: { busybox: string };
  instances: { name: string; socket: string; logDir: string }[];
}

async function main(): Promise<void> {
  const [socket, envFile] = process.argv.slice(2);
  if (!socket || !envFile) throw new Error('usage: demo-walkthrough SOCKET ENV_JSON');
  const env = JSON.parse(readFileSync(envFile, 'utf8')) as Env;
  const mux = new CriClient(socket);
  const step = (text: string): void => void process.stdout.write(`  - ${text}\n`);

  const v = await mux.call('RuntimeService', 'Version', { version: 'v1' });
  step(`Version: ${String(v['runtime_name'])} ${String(v['runtime_version'])} (CRI ${String(v['runtime_api_version'])})`);

  const pods = [
    { name: 'demo-default', namespace: 'default', annotations: {}, instance: env.instances[0]!, why: 'no rule matches: default backend containerd-a' },
    { name: 'demo-sandboxed', namespace: 'sandboxed-apps', annotations: {}, instance: env.instances[1]!, why: 'namespace sandboxed-* → rule sandboxed-namespaces → containerd-b' },
  ];
  for (const p of pods) {
    process.stdout.write(`\npod ${p.namespace}/${p.name} (${p.why})\n`);
    const logDir = join(p.instance.logDir, p.name);
    mkdirSync(logDir, { recursive: true });
    const sandboxConfig = loadCriSample('sandbox_config.json', {
      overrides: { metadata: { name: p.name, namespace: p.namespace, uid: `${p.name}-uid`, attempt: 0 }, log_directory: logDir, annotations: p.annotations },
    });
    const pulled = await mux.call('ImageService', 'PullImage', { image: { image: env.images.busybox }, sandbox_config: sandboxConfig }, { deadlineMs: 0 });
    step(`PullImage ${env.images.busybox} → ${String(pulled['image_ref']).slice(0, 19)}…`);
    const { pod_sandbox_id: podId } = await mux.call<{ pod_sandbox_id: string }>('RuntimeService', 'RunPodSandbox', { config: sandboxConfig });
    step(`RunPodSandbox → ${podId.slice(0, 13)}`);
    const direct = new CriClient(p.instance.socket);
    const there = await direct.call<{ items: { id: string }[] }>('RuntimeService', 'ListPodSandbox', { filter: { id: podId } });
    step(`asked containerd-${p.instance.name} directly on ${p.instance.socket}: ${there.items.length === 1 ? 'the pod is there' : 'NOT THERE'}`);
    direct.close();
    const config = loadCriSample('container_config.json', {
      image: env.images.busybox,
      overrides: { metadata: { name: 'hello', attempt: 0 }, command: ['sh', '-c', `echo hello from ${p.name}; sleep 3600`], args: [], log_path: 'hello.log' },
    });
    const { container_id: cid } = await mux.call<{ container_id: string }>('RuntimeService', 'CreateContainer', { pod_sandbox_id: podId, config, sandbox_config: sandboxConfig });
    await mux.call('RuntimeService', 'StartContainer', { container_id: cid });
    step(`CreateContainer + StartContainer → ${cid.slice(0, 13)}`);
    const exec = await mux.call<{ stdout: Buffer }>('RuntimeService', 'ExecSync', { container_id: cid, cmd: ['uname', '-n'], timeout: 10 });
    step(`ExecSync uname -n → ${exec.stdout.toString().trim()}`);
    await new Promise((r) => setTimeout(r, 500));
    // The log file outlives a run when the state dir is reused: show this run's line.
    const lines = readFileSync(join(logDir, 'hello.log'), 'utf8').trim().split('\n');
    step(`log ${join(logDir, 'hello.log')}: ${lines[lines.length - 1]}`);
    await mux.call('RuntimeService', 'StopContainer', { container_id: cid, timeout: 1 });
    await mux.call('RuntimeService', 'RemoveContainer', { container_id: cid });
    await mux.call('RuntimeService', 'StopPodSandbox', { pod_sandbox_id: podId });
    await mux.call('RuntimeService', 'RemovePodSandbox', { pod_sandbox_id: podId });
    step('stopped and removed the container and the pod');
  }
  const listed = await mux.call<{ items: CriMessage[] }>('RuntimeService', 'ListPodSandbox', {});
  process.stdout.write(`\nListPodSandbox through cri-mux now: ${listed.items.length} pods\n`);
  mux.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`demo walkthrough failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
