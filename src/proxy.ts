// Composition root: builds the proxy's parts from a config and runs the start-up
// sequence (probe backends → check cgroup drivers → rebuild the ownership index →
// open the socket), and the shutdown in reverse.
import { unlink } from 'node:fs/promises';
import type { Logger } from 'pino';
import { Backend } from './backends/backend.js';
import { LastAnswers } from './backends/last-answers.js';
import { OWNERSHIP_WIRE, Ownership } from './backends/ownership.js';
import { RecentPods } from './backends/recent-pods.js';
import { BackendPool } from './backends/pool.js';
import type { Config } from './config/types.js';
import { compileTable } from './cri/plan.js';
import { CriSchema } from './cri/schema.js';
import { CriServer } from './server/server.js';
import type { CallObserver } from './server/observer.js';
import { applySocketAccess, bindPrivately, prepareSocket, resolveGroup } from './server/socket.js';
import { RuntimeConfigMemory } from './strategies/broadcast.js';
import type { ProxyDeps } from './strategies/deps.js';
import { EventHub } from './strategies/events.js';
import { agreedCgroupDriver } from './strategies/node.js';

export interface RunningProxy {
  readonly deps: ProxyDeps;
  close(): Promise<void>;
}

export interface ProxyOptions {
  log: Logger;
  observers?: readonly CallObserver[];
  /** Called for each backend health change (metrics, logs). */
  onBackendState?(backend: Backend): void;
  /** Called once the parts exist, before the first probe (metrics attach to backend events here). */
  onDeps?(deps: ProxyDeps): void;
}

export function buildDeps(config: Config, log: Logger): ProxyDeps {
  const schema = new CriSchema();
  const table = compileTable(schema);
  const pool = new BackendPool(config);
  return {
    config,
    schema,
    table,
    pool,
    ownership: new Ownership(pool),
    recentPods: new RecentPods(),
    lastAnswers: new LastAnswers(config.failure.staleListWindowMs),
    runtimeConfig: new RuntimeConfigMemory(log.child({ component: 'broadcast' })),
    events: new EventHub(pool, log.child({ component: 'events' })),
    log,
  };
}

export async function startProxy(config: Config, opts: ProxyOptions): Promise<RunningProxy> {
  const log = opts.log;
  const gid = await resolveGroup(config.listen.group); // a typo fails before anything starts
  const deps = buildDeps(config, log);
  opts.onDeps?.(deps);
  const { pool, ownership, runtimeConfig } = deps;
  for (const m of deps.table.unplanned) log.warn({ method: m.path }, 'schema method has no routing row; answering UNIMPLEMENTED');

  await pool.probeAll();
  for (const b of pool.all) {
    if (b.health === 'down') log.warn({ backend: b.name, endpoint: b.config.endpoint, reason: b.lastError, default: b.config.default }, 'backend is down at start-up; serving anyway, its calls fail until it is back');
  }
  const up = pool.all.filter((b) => b.health === 'up');
  let driver = await agreedCgroupDriver(deps, up); // throws on disagreement: refuse to serve
  const internal = (): { deadline: number } => ({ deadline: Date.now() + config.failure.internalTimeoutMs });
  // Which pods each backend runs, by annotations: ImageStatus after a restart still finds
  // the store of a pod's runtime (RecentPods) instead of asking every store it might be on.
  const rememberPods = async (b: Backend): Promise<void> => {
    const bytes = await b.unary(OWNERSHIP_WIRE.sandbox.path, Buffer.alloc(0), internal());
    const items = (deps.schema.decode('ListPodSandboxResponse', bytes)['items'] ?? []) as { annotations?: Record<string, string> }[];
    for (const item of items) deps.recentPods.remember(item.annotations ?? {}, b.name);
  };
  const rebuild = (b: Backend, what: string): Promise<unknown> =>
    Promise.all([
      ownership.rebuild(b, internal()).catch((err: unknown) => log.warn({ backend: b.name, err: String(err) }, `${what}; ids resolve on demand`)),
      rememberPods(b).catch((err: unknown) => log.debug({ backend: b.name, err: String(err) }, 'could not list pods for image routing')),
    ]);
  await Promise.all(up.map((b) => rebuild(b, 'could not list the backend to rebuild the ownership index')));

  // A backend that was down at start-up is checked when it first comes up. With none up at
  // start-up, the node's driver is the default backend's (kubelet's RuntimeConfig answer), not
  // that of whichever runtime happened to come up first: until the default has answered,
  // others wait for their verdict, and are checked again once it has.
  const unchecked = new Set<Backend>();
  const checkCgroupDriver = async (b: Backend): Promise<void> => {
    const own = await agreedCgroupDriver(deps, [b]).catch(() => undefined);
    if (own === undefined) return;
    if (driver === undefined && b !== pool.default) {
      unchecked.add(b);
      return;
    }
    unchecked.delete(b);
    if (driver === undefined) {
      driver = own;
      for (const other of [...unchecked]) if (other.health === 'up') void checkCgroupDriver(other);
    }
    b.cgroupMismatch = own === driver ? undefined : `reports cgroup driver ${own} while the node's other runtimes use ${driver}`;
    if (b.cgroupMismatch) log.error({ backend: b.name, driver: own, nodeDriver: driver }, 'backend disagrees on the cgroup driver; no new pods go there until its config is fixed');
  };
  for (const b of pool.all) {
    b.on('up', () => {
      log.info({ backend: b.name, version: b.version }, 'backend is up');
      opts.onBackendState?.(b);
      deps.lastAnswers.backendUp(b.name);
      void runtimeConfig.replay(b, config.failure.internalTimeoutMs);
      void checkCgroupDriver(b);
      void rebuild(b, 'ownership index rebuild failed');
    });
    b.on('down', (reason) => {
      log.warn({ backend: b.name, reason }, 'backend is down');
      opts.onBackendState?.(b);
    });
  }

  const server = new CriServer(deps, opts.observers ?? []);
  await prepareSocket(config.listen.socket);
  await bindPrivately(() => server.listen(config.listen.socket));
  await applySocketAccess(config.listen.socket, config.listen.mode, gid);
  pool.startProbing();

  log.info(
    {
      socket: config.listen.socket,
      cgroupDriver: driver ?? 'not reported',
      backends: pool.all.map((b) => ({ name: b.name, endpoint: b.config.endpoint, health: b.health, version: b.version || undefined, role: b.config.default ? 'default' : b.config.optional ? 'optional' : b.config.required ? 'required' : 'secondary' })),
      rules: config.routing.rules.map((r) => `${r.name} → ${r.backend}`),
      annotationKeys: config.routing.annotationKeys,
    },
    'cri-mux is serving',
  );

  return {
    deps,
    async close() {
      deps.events.close();
      await server.shutdown(5_000);
      pool.close();
      await unlink(config.listen.socket).catch(() => undefined);
    },
  };
}
