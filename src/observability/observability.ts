// Composition of the observability parts for one proxy: metrics on an injected Registry,
// the call observers (metrics first, then audit: a refused audit still counts as a call),
// the HTTP endpoint, and the audit log's reopen. main.ts and the integration tests build
// the proxy the same way:
//
//   const obs = new Observability(config, { log });
//   await obs.listen();
//   const proxy = await startProxy(config, { log, observers: obs.observers, onDeps: obs.attach });
//   obs.markServing();
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import type { Config } from '../config/types.js';
import type { CallObserver } from '../server/observer.js';
import type { ProxyDeps } from '../strategies/deps.js';
import { AuditLog, auditObserver } from './audit.js';
import { instrumentDeps, metricsObserver } from './metrics-observer.js';
import { createMetrics, type ProxyMetrics } from './metrics.js';
import { readinessOf, startMetricsServer, type MetricsServer, type Readiness } from './metrics-server.js';

export interface ObservabilityOptions {
  readonly log: Logger;
  /** Defaults to a fresh Registry (never prom-client's global one). */
  readonly registry?: Registry;
  /** prom-client's process_* / nodejs_* metrics (default true). */
  readonly processMetrics?: boolean;
}

export class Observability {
  readonly registry: Registry;
  readonly metrics: ProxyMetrics;
  readonly audit: AuditLog | undefined;
  readonly observers: readonly CallObserver[];
  private readonly log: Logger;
  private deps: ProxyDeps | undefined;
  private serving = false;
  private server: MetricsServer | undefined;

  constructor(
    private readonly config: Config,
    opts: ObservabilityOptions,
  ) {
    this.log = opts.log;
    this.registry = opts.registry ?? new Registry();
    this.metrics = createMetrics(this.registry, { processMetrics: opts.processMetrics ?? true });
    const auditPath = config.audit.path;
    this.audit = auditPath ? new AuditLog({ path: auditPath, log: opts.log.child({ component: 'audit' }), metrics: this.metrics }) : undefined;
    const observers: CallObserver[] = [metricsObserver(this.metrics)];
    if (this.audit) observers.push(auditObserver({ config: config.audit, audit: this.audit, schema: () => this.deps?.schema }));
    this.observers = observers;
  }

  /** startProxy's onDeps: listen to the backends and expose the proxy's state. */
  readonly attach = (deps: ProxyDeps): void => {
    this.deps = deps;
    instrumentDeps(this.metrics, deps);
  };

  /** The CRI socket is open: /readyz may now say ready. */
  markServing(): void {
    this.serving = true;
  }

  readiness(): Readiness {
    return readinessOf(this.deps?.pool, this.serving);
  }

  /** Start the HTTP endpoint if metrics.enabled; resolves once it is bound. */
  async listen(): Promise<MetricsServer | undefined> {
    const m = this.config.metrics;
    if (!m.enabled) return undefined;
    this.server = await startMetricsServer({
      host: m.host,
      port: m.port,
      registry: this.registry,
      readiness: () => this.readiness(),
      log: this.log.child({ component: 'metrics' }),
    });
    this.log.debug({ url: this.server.url }, 'metrics endpoint listening');
    return this.server;
  }

  get endpoint(): MetricsServer | undefined {
    return this.server;
  }

  /** SIGHUP / SIGUSR2: the audit file was rotated. */
  reopen(signal: string): void {
    if (this.audit) this.audit.reopen(signal);
    else this.log.info({ signal }, 'no audit log configured; nothing to reopen');
  }

  async close(): Promise<void> {
    await this.server?.close();
    this.server = undefined;
    this.audit?.close();
  }
}
