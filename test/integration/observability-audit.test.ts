// The audit log through the proxy: what each audited call records, the level policy,
// reopen after rotation, and what happens when the file cannot be written.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GrpcStatus, isCriError } from '../support/cri-client.js';
import { statusError } from '../support/fake-runtime.js';
import { moved, sampleKey as k, startObsMux, type ObsMux } from './observability-harness.js';

type Event = Record<string, unknown> & { method: string; outcome: { code: string; message: string; reason?: string } };

function events(file: string): Event[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Event);
}

const ROUTING = `
routing:
  rules:
    - name: untrusted-in-vm
      match: { runtimeHandler: kata }
      backend: kata
      handler: ""
`;

function pod(name: string) {
  return { metadata: { name, namespace: 'team-a', uid: `uid-${name}`, attempt: 0 }, labels: { app: name } };
}

/** audit: section with the file in the test's dir (the dir is only known once the mux exists). */
async function withAudit(body: (file: string) => string, extra = ''): Promise<{ mux: ObsMux; file: string }> {
  const holder = { dir: '' };
  // The file lives in a directory of its own under /tmp, made before the proxy starts.
  holder.dir = path.join('/tmp', `cri-mux-audit-${process.pid}-${Math.random().toString(36).slice(2)}`);
  mkdirSync(holder.dir, { recursive: true });
  const file = path.join(holder.dir, 'audit.log');
  const mux = await startObsMux({ yaml: `${ROUTING}\naudit:\n${body(file)}\n${extra}` });
  const close = mux.close.bind(mux);
  mux.close = async () => {
    await close();
    rmSync(holder.dir, { recursive: true, force: true });
  };
  return { mux, file };
}

describe('audit log', () => {
  let mux: ObsMux;
  afterEach(() => mux?.close());

  it('records who/what/where/outcome for mutating calls and nothing for reads, by default', async () => {
    const started = await withAudit((f) => `  path: ${f}`);
    mux = started.mux;
    const c = mux.client;
    await c.call('RuntimeService', 'Version', {});
    const { pod_sandbox_id } = await c.call<{ pod_sandbox_id: string }>('RuntimeService', 'RunPodSandbox', { config: pod('web'), runtime_handler: 'kata' });
    await c.call('ImageService', 'PullImage', { image: { image: 'docker.io/library/nginx:1.27' }, sandbox_config: pod('web') });
    const { container_id } = await c.call<{ container_id: string }>('RuntimeService', 'CreateContainer', {
      pod_sandbox_id,
      config: { metadata: { name: 'nginx' }, image: { image: 'docker.io/library/nginx:1.27' } },
      sandbox_config: pod('web'),
    });
    await c.call('RuntimeService', 'StartContainer', { container_id });
    await c.call('RuntimeService', 'ListContainers', {});
    await c.call('RuntimeService', 'ContainerStatus', { container_id });
    await c.call('RuntimeService', 'ExecSync', { container_id, cmd: ['sh', '-c', 'cat /etc/hostname'], timeout: 5 });

    const all = events(started.file);
    expect(all.map((e) => e.method)).toEqual(['RunPodSandbox', 'PullImage', 'CreateContainer', 'StartContainer', 'ExecSync']);
    const [run, pull, create, start, exec] = all as [Event, Event, Event, Event, Event];
    expect(run).toMatchObject({
      schema: 'cri-mux.audit/v1',
      level: 'Metadata',
      caller: { uid: 'unknown', pid: 'unknown' },
      service: 'runtime.v1.RuntimeService',
      backends: ['kata'],
      route: { reason: 'rule', detail: 'untrusted-in-vm', handlerSent: '' },
      pod: { namespace: 'team-a', name: 'web', uid: 'uid-web' },
      runtimeHandler: 'kata',
      sandboxId: pod_sandbox_id,
      outcome: { code: 'OK', message: '' },
    });
    expect(run['requestId']).toMatch(/^[0-9a-f-]{36}$/);
    expect(String((run['caller'] as { userAgent: string }).userAgent)).toMatch(/grpc-node-js/);
    expect(Date.parse(String(run['time']))).toBeGreaterThan(Date.now() - 60_000);
    expect(run['durationSeconds']).toBeGreaterThan(0);
    expect(run['request']).toBeUndefined();
    expect(pull).toMatchObject({ backends: ['containerd'], image: 'docker.io/library/nginx:1.27', pod: { name: 'web' }, outcome: { code: 'OK' } });
    expect(String(pull['imageRef'])).toMatch(/^sha256:/);
    expect(create).toMatchObject({
      backends: ['kata'],
      route: { reason: 'owner' },
      pod: { namespace: 'team-a', name: 'web', uid: 'uid-web' },
      container: { name: 'nginx', image: 'docker.io/library/nginx:1.27' },
      image: 'docker.io/library/nginx:1.27',
      sandboxId: pod_sandbox_id,
      containerId: container_id,
    });
    expect(start).toMatchObject({ backends: ['kata'], containerId: container_id, outcome: { code: 'OK' } });
    expect(exec).toMatchObject({ containerId: container_id, command: ['sh', '-c', 'cat /etc/hostname'] });
  });

  it('records failures with the code the client saw and who produced it', async () => {
    const started = await withAudit((f) => `  path: ${f}`);
    mux = started.mux;
    mux.fakes['containerd']!.failNext('PullImage', statusError(GrpcStatus.UNKNOWN, 'failed to resolve reference: 401 Unauthorized'));
    await mux.client.call('ImageService', 'PullImage', { image: { image: 'private.example/app:1' } }).catch(() => undefined);
    await mux.client.call('RuntimeService', 'StopContainer', { container_id: 'nope', timeout: 1 }); // idempotent: OK
    await mux.client.call('RuntimeService', 'StartContainer', { container_id: 'nope' }).catch(() => undefined);
    const [pull, stop, start] = events(started.file) as [Event, Event, Event];
    expect(pull).toMatchObject({ method: 'PullImage', outcome: { code: 'Unknown', message: 'failed to resolve reference: 401 Unauthorized', reason: 'backend:containerd' } });
    expect(pull['imageRef']).toBeUndefined();
    expect(stop).toMatchObject({ method: 'StopContainer', route: { reason: 'unknown-id' }, containerId: 'nope', outcome: { code: 'OK' } });
    expect(start).toMatchObject({ method: 'StartContainer', outcome: { code: 'NotFound', reason: 'CRIMUX_ERR_UNKNOWN_ID' } });
  });

  it('follows audit.levels: None silences a mutating call, Request adds the redacted request to a read', async () => {
    const started = await withAudit((f) => `  path: ${f}\n  levels:\n    RunPodSandbox: None\n    ListContainers: Request`);
    mux = started.mux;
    await mux.client.call('RuntimeService', 'RunPodSandbox', { config: pod('quiet') });
    await mux.client.call('RuntimeService', 'ListContainers', { filter: { label_selector: { app: 'web' } } });
    const all = events(started.file);
    expect(all.map((e) => e.method)).toEqual(['ListContainers']);
    expect(all[0]).toMatchObject({ level: 'Request', request: { filter: { label_selector: { app: 'web' } } }, route: { reason: 'fan-out' } });
    expect(all[0]!['backends']).toEqual(['containerd', 'kata']);
  });

  it('continues in a new file after rotation (reopen, as on SIGHUP/SIGUSR2)', async () => {
    const started = await withAudit((f) => `  path: ${f}`);
    mux = started.mux;
    await mux.client.call('RuntimeService', 'RunPodSandbox', { config: pod('before') });
    renameSync(started.file, `${started.file}.1`);
    await mux.client.call('RuntimeService', 'RunPodSandbox', { config: pod('between') }); // still the old file: nothing lost
    mux.obs.reopen('SIGHUP');
    await mux.client.call('RuntimeService', 'RunPodSandbox', { config: pod('after') });
    const names = (f: string) => events(f).map((e) => (e['pod'] as { name: string }).name);
    expect(names(`${started.file}.1`)).toEqual(['before', 'between']);
    expect(names(started.file)).toEqual(['after']);
    expect(mux.processLog.some((l) => l.includes('"audit log reopened"') && l.includes('"why":"SIGHUP"'))).toBe(true);
  });

  describe('when the file cannot be written', () => {
    /** A path whose parent is a regular file: ENOTDIR, even for root. */
    function blockedPath(dir: string): { file: string; unblock(): void } {
      const parent = path.join(dir, 'not-a-dir');
      writeFileSync(parent, '');
      return {
        file: path.join(parent, 'audit.log'),
        unblock() {
          rmSync(parent);
          mkdirSync(parent);
        },
      };
    }

    it('failClosed: refuses audited calls with UNAVAILABLE, serves the rest, recovers by itself', async () => {
      const scratch = path.join('/tmp', `cri-mux-audit-blocked-${process.pid}-${Date.now()}`);
      mkdirSync(scratch, { recursive: true });
      const blocked = blockedPath(scratch);
      mux = await startObsMux({ yaml: `${ROUTING}\naudit:\n  path: ${blocked.file}\n  failClosed: true` });
      try {
        const before = await mux.scrape();
        const refused = await mux.client.call('RuntimeService', 'RunPodSandbox', { config: pod('x') }).catch((e: unknown) => e);
        expect(isCriError(refused, GrpcStatus.UNAVAILABLE)).toBe(true);
        expect((refused as Error).message).toContain('audit.failClosed');
        expect(mux.fakes['containerd']!.journal.some((e) => e.method === 'RunPodSandbox')).toBe(false);
        await mux.client.call('RuntimeService', 'ListContainers', {}); // not audited: served
        const after = await mux.scrape();
        expect(moved(before, after, ['crimux_route_refusals_total', 'crimux_audit_events_dropped_total'])).toEqual({
          [k('crimux_route_refusals_total', { grpc_method: 'RunPodSandbox', reason: 'CRIMUX_ERR_AUDIT_UNAVAILABLE' })]: 1,
          [k('crimux_audit_events_dropped_total')]: 1, // the refusal's own event
        });
        expect(after.get(k('crimux_audit_log_writable', { path: blocked.file }))).toBe(0);
        expect(mux.processLog.some((l) => l.includes('"level":50') && l.includes('the audit log cannot be written'))).toBe(true);

        // The disk has room again: the next refused call's event gets through, and calls flow.
        blocked.unblock();
        await mux.client.call('RuntimeService', 'RunPodSandbox', { config: pod('y') }).catch(() => undefined);
        await mux.client.call('RuntimeService', 'RunPodSandbox', { config: pod('z') });
        const recorded = events(blocked.file);
        expect(recorded.map((e) => [(e['pod'] as { name: string }).name, e.outcome.code])).toEqual([
          ['y', 'Unavailable'],
          ['z', 'OK'],
        ]);
        expect(recorded[0]!.outcome.reason).toBe('CRIMUX_ERR_AUDIT_UNAVAILABLE');
        expect((await mux.scrape()).get(k('crimux_audit_log_writable', { path: blocked.file }))).toBe(1);
        expect(mux.processLog.some((l) => l.includes('audit log is writable again'))).toBe(true);
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    });

    it('fail-open (default) on a full disk (/dev/full): calls go on, drops are counted and logged once', async () => {
      mux = await startObsMux({ yaml: `${ROUTING}\naudit:\n  path: /dev/full` });
      const before = await mux.scrape();
      for (const name of ['a', 'b', 'c']) await mux.client.call('RuntimeService', 'RunPodSandbox', { config: pod(name) });
      const after = await mux.scrape();
      expect(moved(before, after, ['crimux_audit_events_dropped_total', 'crimux_audit_events_written_total'])).toEqual({
        [k('crimux_audit_events_dropped_total')]: 3,
      });
      expect(after.get(k('crimux_audit_log_writable', { path: '/dev/full' }))).toBe(0);
      const errors = mux.processLog.filter((l) => l.includes('the audit log cannot be written'));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(/ENOSPC/);
    });

    it('failClosed on a full disk: the first event is lost, then audited calls are refused', async () => {
      mux = await startObsMux({ yaml: `${ROUTING}\naudit:\n  path: /dev/full\n  failClosed: true` });
      await mux.client.call('RuntimeService', 'RunPodSandbox', { config: pod('first') });
      const second = await mux.client.call('RuntimeService', 'RunPodSandbox', { config: pod('second') }).catch((e: unknown) => e);
      expect(isCriError(second, GrpcStatus.UNAVAILABLE)).toBe(true);
      expect((await mux.scrape()).get(k('crimux_audit_events_dropped_total'))).toBe(2);
    });
  });
});
