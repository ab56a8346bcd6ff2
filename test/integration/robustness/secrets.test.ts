// Adversarial redaction: marker secrets through every mutating RPC (every method audited at
// Request level, process log at trace), then backends that fail each of those calls with
// every code, echoing the secrets they were sent. Every byte of the audit file and of the
// process log, and what the proxy itself says about its backends (Status info, /readyz),
// is searched for every marker. The client alone may see a backend's message verbatim
// (kubelet matches pull errors by message).
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { METHOD_TABLE, MUTATING } from '../../../src/cri/table.js';
import { GrpcStatus } from '../../support/cri-client.js';
import { statusError, type CriMethod } from '../../support/fake-runtime.js';
import { startObsMux, type ObsMux } from '../observability-harness.js';

const M = {
  password: 'MARKER-password-5c1d',
  auth: 'MARKER-auth-5c1d',
  identityToken: 'MARKER-identity-token-5c1d',
  registryToken: 'MARKER-registry-token-5c1d',
  env: 'MARKER-env-5c1d',
  restoreEnv: 'MARKER-restore-env-5c1d',
  podAnnotation: 'MARKER-pod-annotation-5c1d',
  podLabel: 'MARKER-pod-label-5c1d',
  pullPodAnnotation: 'MARKER-pull-pod-annotation-5c1d',
  containerAnnotation: 'MARKER-container-annotation-5c1d',
  updateAnnotation: 'MARKER-update-annotation-5c1d',
  checkpointOption: 'MARKER-checkpoint-option-5c1d',
  restoreOption: 'MARKER-restore-option-5c1d',
  stdout: 'MARKER-exec-stdout-5c1d',
  stderr: 'MARKER-exec-stderr-5c1d',
};
const MARKERS = Object.values(M);
// Secret values that overlap: a shorter one must not leave the rest of a longer one behind.
const SHORT = 'OVERLAP-5c1d';
const LONG = 'OVERLAP-5c1d-and-the-rest-of-it';

const AUDIT_EVERYTHING = Object.keys(METHOD_TABLE)
  .map((m) => `    ${m}: Request`)
  .join('\n');

function pod(name: string, annotation = M.podAnnotation) {
  return {
    metadata: { name, namespace: 'team-a', uid: `uid-${name}`, attempt: 0 },
    annotations: { 'example.com/api-token': annotation },
    labels: { 'db-password': M.podLabel, app: name },
  };
}

function container(name: string, envValue: string) {
  return {
    metadata: { name },
    image: { image: 'registry.example/app:1' },
    envs: [{ key: 'API_KEY', value: Buffer.from(envValue) }],
    annotations: { 'vault.example/token': M.containerAnnotation },
  };
}

async function scan(mux: ObsMux, file: string): Promise<string[]> {
  const audit = readFileSync(file, 'utf8');
  for (const line of audit.split('\n').filter(Boolean)) JSON.parse(line); // every line valid JSON
  const readyz = (await mux.get('/readyz')).body; // before Status: a Status answer marks the backend up again
  const info = JSON.stringify(await mux.client.call('RuntimeService', 'Status', { verbose: true }));
  const sources: Record<string, string> = { audit, processLog: mux.processLog.join(''), statusInfo: info, readyz };
  const found: string[] = [];
  for (const [where, text] of Object.entries(sources)) {
    for (const marker of [...MARKERS, SHORT, 'the-rest-of-it']) {
      for (const form of [marker, Buffer.from(marker).toString('base64')]) if (text.includes(form)) found.push(`${form} in ${where}`);
    }
  }
  return found;
}

describe('secrets under attack', () => {
  let mux: ObsMux;
  let file: string;
  afterEach(async () => {
    await mux?.close();
    rmSync(file, { force: true });
  });

  it('no marker reaches any log when every mutating call succeeds, then fails with every code echoing what it was sent', async () => {
    file = path.join('/tmp', `cri-mux-secrets-${process.pid}-${Date.now()}.log`);
    mux = await startObsMux({
      logLevel: 'trace',
      yaml: `audit:\n  path: ${file}\n  sensitiveKeys: ["*token*", "*secret*", "*password*", "*option*"]\n  levels:\n${AUDIT_EVERYTHING}`,
    });
    const c = mux.client;
    const fake = mux.fakes['containerd']!;
    const auth = { username: 'robot', password: M.password, auth: M.auth, identity_token: M.identityToken, registry_token: M.registryToken };
    const { pod_sandbox_id } = await c.call<{ pod_sandbox_id: string }>('RuntimeService', 'RunPodSandbox', { config: pod('web') });
    const { container_id } = await c.call<{ container_id: string }>('RuntimeService', 'CreateContainer', {
      pod_sandbox_id,
      config: container('app', M.env),
      sandbox_config: pod('web'),
    });
    fake.setHandler('ExecSync', () => ({ stdout: Buffer.from(M.stdout), stderr: Buffer.from(M.stderr), exit_code: 0 }));

    const requests: Partial<Record<CriMethod, Record<string, unknown>>> = {
      RunPodSandbox: { config: pod('web2') },
      PullImage: { image: { image: 'registry.example/app:1' }, auth, sandbox_config: pod('web', M.pullPodAnnotation) },
      CreateContainer: { pod_sandbox_id, config: container('app2', M.env), sandbox_config: pod('web') },
      StartContainer: { container_id },
      ExecSync: { container_id, cmd: ['true'], timeout: 0 },
      Exec: { container_id, cmd: ['sh'], stdout: true },
      Attach: { container_id, stdout: true },
      PortForward: { pod_sandbox_id, port: [80] },
      UpdateContainerResources: { container_id, annotations: { 'x/token': M.updateAnnotation } },
      UpdatePodSandboxResources: { pod_sandbox_id },
      ReopenContainerLog: { container_id },
      CheckpointContainer: { container_id, location: '/ckpt/c' },
      CheckpointPod: { pod_sandbox_id, output_path: '/ckpt/p', options: { 'registry-token': M.checkpointOption } },
      RestorePod: { checkpoint_path: '/ckpt/p', config: pod('restored'), options: { 'option-secret': M.restoreOption }, container_configs: [container('r', M.restoreEnv)] },
      UpdateRuntimeConfig: { runtime_config: { network_config: { pod_cidr: '10.0.0.0/16' } } },
      StopContainer: { container_id, timeout: 1 },
      RemoveImage: { image: { image: 'registry.example/app:1' } },
      StopPodSandbox: { pod_sandbox_id },
    };
    const service = (m: CriMethod) => (METHOD_TABLE[m] as { service?: string }).service ?? (['PullImage', 'RemoveImage'].includes(m) ? 'ImageService' : 'RuntimeService');
    const call = (m: CriMethod) => c.call(service(m) as 'RuntimeService' | 'ImageService', m, requests[m]!).catch((e: unknown) => e);

    for (const m of Object.keys(requests) as CriMethod[]) await call(m);
    for (const code of [GrpcStatus.UNKNOWN, GrpcStatus.INTERNAL, GrpcStatus.UNAVAILABLE, GrpcStatus.INVALID_ARGUMENT, GrpcStatus.NOT_FOUND]) {
      for (const m of Object.keys(requests) as CriMethod[]) {
        fake.setHandler(m, (_req, raw) => {
          const echoed = MARKERS.filter((x) => raw.includes(Buffer.from(x)));
          throw statusError(code, `${m} failed: ${echoed.join(' ')}`);
        });
        await call(m);
        fake.resetHandler(m);
        await fake.restart(); // a call answered UNAVAILABLE may have marked it down; bring it back
      }
    }
    // Two secrets of one request where one is a prefix of the other, echoed by the backend.
    fake.setHandler('PullImage', () => {
      throw statusError(GrpcStatus.UNKNOWN, `denied: ${LONG}`);
    });
    await c.call('ImageService', 'PullImage', { image: { image: 'x' }, auth: { password: SHORT, registry_token: LONG } }).catch(() => undefined);

    // Last: a pull that fails UNAVAILABLE echoing the credentials leaves the backend marked down.
    fake.setHandler('PullImage', () => {
      throw statusError(GrpcStatus.UNAVAILABLE, `registry down for ${M.password}`);
    });
    await c.call('ImageService', 'PullImage', { image: { image: 'x' }, auth: { password: M.password } }).catch(() => undefined);
    expect((await mux.get('/readyz')).status).toBe(503);

    expect(MUTATING.size).toBeGreaterThanOrEqual(Object.keys(requests).length);
    expect(await scan(mux, file)).toEqual([]);
  });
});
