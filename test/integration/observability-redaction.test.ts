// Secrets never reach a log: requests full of marker secrets go through the proxy with every
// method audited at Request level and the process log at trace, then every byte written to
// the audit file and to the process log is searched for every marker (and its base64 form).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { METHOD_TABLE } from '../../src/cri/table.js';
import { GrpcStatus } from '../support/cri-client.js';
import { statusError } from '../support/fake-runtime.js';
import { startObsMux, type ObsMux } from './observability-harness.js';

const M = {
  password: 'MARKER-password-8f3a',
  auth: 'MARKER-auth-8f3a',
  identityToken: 'MARKER-identity-token-8f3a',
  registryToken: 'MARKER-registry-token-8f3a',
  env: 'MARKER-env-value-8f3a',
  restoreEnv: 'MARKER-restore-env-8f3a',
  podAnnotation: 'MARKER-pod-annotation-8f3a',
  podLabel: 'MARKER-pod-label-8f3a',
  containerAnnotation: 'MARKER-container-annotation-8f3a',
  imageAnnotation: 'MARKER-image-annotation-8f3a',
  stdout: 'MARKER-exec-stdout-8f3a',
  stderr: 'MARKER-exec-stderr-8f3a',
};
const MARKERS = Object.values(M);

const AUDIT_EVERYTHING = Object.keys(METHOD_TABLE)
  .map((m) => `    ${m}: Request`)
  .join('\n');

function pod(name: string) {
  return {
    metadata: { name, namespace: 'team-a', uid: `uid-${name}`, attempt: 0 },
    annotations: { 'example.com/api-token': M.podAnnotation, 'example.com/team': 'payments' },
    labels: { 'db-password': M.podLabel, app: name },
  };
}

function container(name: string, envValue: string) {
  return {
    metadata: { name },
    image: { image: 'registry.example/app:1', annotations: { 'registry.example/secret-ref': M.imageAnnotation } },
    envs: [
      { key: 'API_KEY', value: Buffer.from(envValue) },
      { key: 'PLAIN', value: Buffer.from('not-secret-but-redacted-anyway') },
    ],
    annotations: { 'vault.example/token': M.containerAnnotation },
  };
}

describe('redaction', () => {
  let mux: ObsMux;
  afterEach(() => mux?.close());

  it('keeps credentials, env values, exec output and sensitive annotations out of every log', async () => {
    const file = path.join('/tmp', `cri-mux-redaction-${process.pid}-${Date.now()}.log`);
    mux = await startObsMux({
      logLevel: 'trace',
      yaml: `audit:\n  path: ${file}\n  sensitiveKeys: ["*token*", "*secret*", "*password*"]\n  levels:\n${AUDIT_EVERYTHING}`,
    });
    const c = mux.client;
    const auth = { username: 'robot', password: M.password, auth: M.auth, identity_token: M.identityToken, registry_token: M.registryToken, server_address: 'registry.example' };
    const image = { image: 'registry.example/app:1', annotations: { 'registry.example/secret-ref': M.imageAnnotation } };

    const { pod_sandbox_id } = await c.call<{ pod_sandbox_id: string }>('RuntimeService', 'RunPodSandbox', { config: pod('web') });
    await c.call('ImageService', 'PullImage', { image, auth, sandbox_config: pod('web') });
    // A backend that echoes a credential in its error message.
    mux.fakes['containerd']!.failNext('PullImage', statusError(GrpcStatus.UNKNOWN, `auth failed for ${M.password} / ${M.registryToken}`));
    await c.call('ImageService', 'PullImage', { image, auth }).catch(() => undefined);
    const { container_id } = await c.call<{ container_id: string }>('RuntimeService', 'CreateContainer', {
      pod_sandbox_id,
      config: container('app', M.env),
      sandbox_config: pod('web'),
    });
    await c.call('RuntimeService', 'StartContainer', { container_id });
    mux.fakes['containerd']!.setHandler('ExecSync', () => ({ stdout: Buffer.from(M.stdout), stderr: Buffer.from(M.stderr), exit_code: 0 }));
    const exec = await c.call<{ stdout: Buffer }>('RuntimeService', 'ExecSync', { container_id, cmd: ['cat', '/run/secrets/token'], timeout: 5 });
    expect(exec.stdout.toString()).toBe(M.stdout); // the client gets the output; the logs do not
    await c.call('RuntimeService', 'RestorePod', { checkpoint_path: '/ckpt', config: pod('restored'), container_configs: [container('r', M.restoreEnv)] }).catch(() => undefined);
    await c.call('RuntimeService', 'ListPodSandbox', { filter: { label_selector: { 'db-password': M.podLabel } } });
    await c.call('ImageService', 'ImageStatus', { image });
    await c.call('RuntimeService', 'RemoveContainer', { container_id });
    await c.call('RuntimeService', 'RemovePodSandbox', { pod_sandbox_id });

    const audit = readFileSync(file, 'utf8');
    const processLog = mux.processLog.join('');
    try {
      // The logs are not vacuous: the calls are there, with what may be said about them.
      const lines = audit.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.map((l) => l['method'])).toEqual([
        'RunPodSandbox', 'PullImage', 'PullImage', 'CreateContainer', 'StartContainer', 'ExecSync', 'RestorePod',
        'ListPodSandbox', 'ImageStatus', 'RemoveContainer', 'RemovePodSandbox',
      ]);
      expect(lines[1]).toMatchObject({
        request: { auth: { username: 'robot', password: '[redacted]', auth: '[redacted]', identity_token: '[redacted]', registry_token: '[redacted]', server_address: 'registry.example' } },
      });
      expect(lines[2]).toMatchObject({ outcome: { code: 'Unknown', message: 'auth failed for [redacted] / [redacted]' } });
      expect(lines[3]).toMatchObject({
        request: {
          config: {
            envs: [{ key: 'API_KEY', value: '[redacted]' }, { key: 'PLAIN', value: '[redacted]' }],
            annotations: { 'vault.example/token': '[redacted]' },
          },
          sandbox_config: { annotations: { 'example.com/api-token': '[redacted]', 'example.com/team': 'payments' }, labels: { 'db-password': '[redacted]', app: 'web' } },
        },
      });
      expect(lines[5]).toMatchObject({ command: ['cat', '/run/secrets/token'] });
      expect(processLog.length).toBeGreaterThan(0);

      for (const marker of MARKERS) {
        for (const form of [marker, Buffer.from(marker).toString('base64')]) {
          expect(audit.includes(form), `${form} in the audit log`).toBe(false);
          expect(processLog.includes(form), `${form} in the process log`).toBe(false);
        }
      }
    } finally {
      await import('node:fs').then((fs) => fs.rmSync(file, { force: true }));
    }
  });
});
