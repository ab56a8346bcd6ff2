// Calls answered for the node as a whole: Version (the proxy itself), RuntimeConfig (the
// backends must agree; the default's answer is given), and Status (aggregated so that an
// optional VM runtime's outage does not take the whole node NotReady, CRI-NOTES 14).
import { status as Code } from '@grpc/grpc-js';
import type { Backend } from '../backends/backend.js';
import { ProxyError } from '../errors/catalogue.js';
import { BackendError } from '../errors/status.js';
import { CRI_API_VERSION, CRI_MUX_VERSION } from '../version.js';
import type { ProxyDeps, UnaryStrategy } from './deps.js';

const KUBELET_API_VERSION = '0.1.0';

export const version: UnaryStrategy = async (deps, ctx) => {
  ctx.route.reason = 'proxy';
  return deps.schema.encode('VersionResponse', {
    // The kubelet runtime API version string; every CRI runtime answers this constant.
    version: KUBELET_API_VERSION,
    runtime_name: 'cri-mux',
    runtime_version: CRI_MUX_VERSION,
    runtime_api_version: CRI_API_VERSION,
  });
};

const RUNTIME_CONFIG_PATH = '/runtime.v1.RuntimeService/RuntimeConfig';

export const runtimeConfig: UnaryStrategy = async (deps, ctx, request) => {
  ctx.route.reason = 'default';
  for (const backend of deps.pool.all) {
    ctx.sentTo(backend.name);
    try {
      return await backend.unary(ctx.plan.info.path, request, ctx.optionsFor(backend));
    } catch (err) {
      const e = BackendError.from(backend.name, err);
      if (e.code !== Code.UNIMPLEMENTED) throw e;
    }
  }
  throw new ProxyError('CRIMUX_ERR_UNIMPLEMENTED', 'no backend implements RuntimeConfig; kubelet uses its own cgroupDriver setting');
};

/**
 * All backends that answer RuntimeConfig must report one cgroup driver, or pods of one
 * runtime get cgroup parents of the wrong kind. Returns the driver, or throws naming each.
 */
export async function agreedCgroupDriver(deps: ProxyDeps, backends: readonly Backend[]): Promise<string | undefined> {
  const drivers = new Map<string, string[]>();
  for (const backend of backends) {
    try {
      const bytes = await backend.unary(RUNTIME_CONFIG_PATH, Buffer.alloc(0), { deadline: Date.now() + deps.config.failure.internalTimeoutMs });
      const linux = deps.schema.decode('RuntimeConfigResponse', bytes)['linux'] as Record<string, unknown> | undefined;
      const driver = String(linux?.['cgroup_driver'] ?? 'SYSTEMD');
      drivers.set(driver, [...(drivers.get(driver) ?? []), backend.name]);
    } catch (err) {
      const e = BackendError.from(backend.name, err);
      if (e.code === Code.UNIMPLEMENTED) deps.log.info({ backend: backend.name }, 'backend does not implement RuntimeConfig; its cgroup driver cannot be checked');
      else deps.log.warn({ backend: backend.name, err: e.details }, 'RuntimeConfig failed; cgroup driver not checked');
    }
  }
  if (drivers.size > 1) {
    const list = [...drivers].map(([d, names]) => `${d}: ${names.join(', ')}`).join('; ');
    throw new Error(`backends disagree on the cgroup driver (${list}); configure every runtime with the same driver (containerd SystemdCgroup, CRI-O cgroup_manager)`);
  }
  return drivers.keys().next().value;
}

type Obj = Record<string, unknown>;
interface Condition { type: string; status?: boolean; reason?: string; message?: string }
interface Handler { name?: string; features?: Obj }

export const status: UnaryStrategy = async (deps, ctx, request) => {
  ctx.route.reason = 'fan-out';
  const answers = await Promise.all(
    deps.pool.all.map(async (backend) => {
      ctx.sentTo(backend.name);
      try {
        const bytes = await backend.unary(ctx.plan.info.path, request, ctx.internalOptions(deps.config.failure.internalTimeoutMs));
        return { backend, status: deps.schema.decode('StatusResponse', bytes) };
      } catch (err) {
        return { backend, error: BackendError.from(backend.name, err) };
      }
    }),
  );
  const counted = answers.filter((a) => a.backend.config.default || a.backend.config.required);
  const conditions: Condition[] = ['RuntimeReady', 'NetworkReady'].map((type) => {
    for (const a of counted) {
      if (a.error) return { type, status: false, reason: 'BackendUnavailable', message: `backend ${a.backend.name}: ${a.error.details}` };
      const c = ((a.status['status'] as Obj | undefined)?.['conditions'] as Condition[] | undefined)?.find((x) => x.type === type);
      if (!c?.status) return { type, status: false, reason: c?.reason ?? 'NotReported', message: `backend ${a.backend.name}: ${c?.message ?? `did not report ${type}`}` };
    }
    return { type, status: true };
  });

  const info: Record<string, string> = { 'cri-mux': JSON.stringify(backendStates(deps)) };
  const handlers: Handler[] = [];
  let features: Record<string, boolean> | undefined;
  for (const a of answers) {
    if (!a.status) continue;
    for (const [k, v] of Object.entries((a.status['info'] as Record<string, string> | undefined) ?? {})) info[`${a.backend.name}.${k}`] = v;
    for (const h of (a.status['runtime_handlers'] as Handler[] | undefined) ?? []) {
      if (!handlers.some((x) => (x.name ?? '') === (h.name ?? ''))) handlers.push(h);
    }
    const f = (a.status['features'] as Record<string, boolean> | undefined) ?? {};
    features = features === undefined ? { ...f } : Object.fromEntries(Object.entries(features).map(([k, v]) => [k, v && f[k] === true]));
  }
  // Handler names that rules accept and rewrite are runtime classes of this node too.
  for (const rule of deps.config.routing.rules) {
    for (const name of rule.match.runtimeHandler ?? []) {
      if (/[*?]/.test(name) || handlers.some((h) => (h.name ?? '') === name)) continue;
      const target = answers.find((a) => a.backend.name === rule.backend)?.status;
      const base = ((target?.['runtime_handlers'] as Handler[] | undefined) ?? []).find((h) => (h.name ?? '') === (rule.handler ?? name));
      handlers.push({ name, ...(base?.features ? { features: base.features } : {}) });
    }
  }
  return deps.schema.encode('StatusResponse', {
    status: { conditions },
    info,
    runtime_handlers: handlers,
    ...(features ? { features } : {}),
  });
};

/** Every backend's state, as Status info and `cri-mux` logs show it. */
export function backendStates(deps: ProxyDeps): Obj[] {
  return deps.pool.all.map((b) => {
    const staleSince = deps.lastAnswers.staleSince(b.name);
    return {
      name: b.name,
      endpoint: b.config.endpoint,
      role: b.config.default ? 'default' : b.config.optional ? 'optional' : b.config.required ? 'required' : 'secondary',
      health: b.health,
      since: new Date(b.since).toISOString(),
      ...(b.version ? { version: b.version } : {}),
      ...(b.lastError ? { lastError: b.lastError } : {}),
      ...(staleSince !== undefined ? { servingStaleListsFrom: new Date(staleSince).toISOString() } : {}),
      ...(b.cgroupMismatch ? { cgroupMismatch: b.cgroupMismatch } : {}),
    };
  });
}
