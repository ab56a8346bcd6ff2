// The CRI audit log: one JSON line per audited call (audit-event.ts), written as the call
// ends, synchronously, to a file logrotate can move (reopen()). When the file cannot be
// written the operator's choice applies: audit.failClosed refuses audited calls with
// UNAVAILABLE until a write succeeds again; otherwise calls go on, and
// crimux_audit_events_dropped_total plus a process-log error say events were lost.
import { hostname } from 'node:os';
import pino, { type Logger } from 'pino';
import type { AuditConfig } from '../config/types.js';
import type { CriSchema } from '../cri/schema.js';
import { ProxyError } from '../errors/catalogue.js';
import type { CallContext } from '../server/call-context.js';
import type { CallObserver } from '../server/observer.js';
import { AuditFile } from './audit-file.js';
import { auditEvent, requestDetails, type AuditEvent, type PendingAudit } from './audit-event.js';
import { auditPolicy, type AuditPolicy } from './audit-policy.js';
import type { ProxyMetrics } from './metrics.js';
import { REDACTED, redactMessage } from './redact.js';

/** While the log stays broken, the process log repeats the error at most this often. */
const REPORT_EVERY_MS = 60_000;

/** Second line of defence behind the schema-driven redaction (STYLE 14). */
const BACKSTOP_PATHS = [
  'request.auth.password',
  'request.auth.auth',
  'request.auth.identity_token',
  'request.auth.registry_token',
  'request.config.envs[*].value',
  'request.container_configs[*].envs[*].value',
];

export interface AuditLogOptions {
  readonly path: string;
  readonly log: Logger;
  readonly metrics?: ProxyMetrics | undefined;
}

export class AuditLog {
  private readonly file: AuditFile;
  private readonly pino: Logger;
  private readonly log: Logger;
  private readonly metrics: ProxyMetrics | undefined;
  written = 0;
  dropped = 0;
  /** Events lost since the log last worked. */
  private droppedInOutage = 0;
  private lastReport = 0;
  private broken = false;

  constructor(opts: AuditLogOptions) {
    this.log = opts.log;
    this.metrics = opts.metrics;
    this.file = new AuditFile(opts.path);
    const node = hostname();
    this.pino = pino(
      {
        level: 'info',
        base: null,
        timestamp: false,
        // pino's own level means nothing here (the event's `level` is the audit level), and
        // pino cannot omit it; its slot carries the node name instead, first in every line.
        formatters: { level: () => ({ hostname: node }) },
        redact: { paths: BACKSTOP_PATHS, censor: REDACTED },
      },
      this.file,
    );
    if (!this.file.open()) this.fail('cannot open the audit log');
    this.gauge();
  }

  get path(): string {
    return this.file.file;
  }

  /** False after a failed open or write, until a write succeeds. */
  get writable(): boolean {
    return this.file.ok;
  }

  get lastError(): string {
    return this.file.lastError;
  }

  /** Write one event; false when it was dropped. */
  write(event: AuditEvent): boolean {
    this.file.lastWriteOk = false;
    try {
      this.pino.info(event);
    } catch (err) {
      this.log.error({ err }, 'could not serialize an audit event');
    }
    const ok = this.file.lastWriteOk;
    if (ok) {
      this.written++;
      this.metrics?.auditWritten.inc();
      if (this.broken) {
        this.broken = false;
        this.log.warn({ path: this.path, dropped: this.droppedInOutage }, 'audit log is writable again');
        this.droppedInOutage = 0;
      }
    } else {
      this.dropped++;
      this.droppedInOutage++;
      this.metrics?.auditDropped.inc();
      this.fail('audit event dropped');
    }
    this.gauge();
    return ok;
  }

  /** Say so at once, then at most every REPORT_EVERY_MS while it lasts (with the count so far). */
  private fail(what: string): void {
    const now = Date.now();
    if (this.broken && now - this.lastReport < REPORT_EVERY_MS) return;
    this.broken = true;
    this.lastReport = now;
    this.log.error({ path: this.path, error: this.file.lastError, dropped: this.droppedInOutage }, `${what}: the audit log cannot be written`);
  }

  private gauge(): void {
    this.metrics?.auditWritable.set({ path: this.path }, this.file.ok ? 1 : 0);
  }

  /** After logrotate moved the file (SIGHUP, SIGUSR2): continue in a new file at the path. */
  reopen(why: string): void {
    if (this.file.reopen()) this.log.info({ path: this.path, why }, 'audit log reopened');
    else this.log.error({ path: this.path, why, error: this.file.lastError }, 'cannot reopen the audit log; events still go to the old file');
    this.gauge();
  }

  close(): void {
    this.file.close();
  }
}

export interface AuditObserverOptions {
  readonly config: AuditConfig;
  readonly audit: AuditLog;
  /** The proxy's schema once it exists (ProxyDeps.schema). */
  readonly schema: () => CriSchema | undefined;
  readonly policy?: AuditPolicy;
}

export function auditObserver(opts: AuditObserverOptions): CallObserver {
  const { audit, config } = opts;
  const policy = opts.policy ?? auditPolicy(config.levels);
  const pending = new WeakMap<CallContext, PendingAudit>();
  return {
    begin(ctx, request) {
      const level = policy(ctx.plan.name);
      if (level === 'None') return;
      pending.set(ctx, prepare(opts, ctx, request, level));
      if (config.failClosed && !audit.writable) {
        throw new ProxyError(
          'CRIMUX_ERR_AUDIT_UNAVAILABLE',
          `the audit log ${audit.path} cannot be written (${audit.lastError || 'unknown error'}) and audit.failClosed is set: ${ctx.plan.name} is refused until it can`,
        );
      }
    },
    end(ctx, outcome, response) {
      const p = pending.get(ctx);
      if (!p) return;
      pending.delete(ctx);
      audit.write(auditEvent(ctx, p, outcome, response));
    },
  };
}

function prepare(opts: AuditObserverOptions, ctx: CallContext, request: Buffer, level: PendingAudit['level']): PendingAudit {
  const base: PendingAudit = { level, startedAt: Date.now() - (performance.now() - ctx.started), details: {}, secrets: [] };
  const schema = opts.schema();
  if (!schema) return base;
  const type = ctx.plan.info.requestType;
  let decoded: Record<string, unknown>;
  try {
    decoded = schema.decode(type.name, request);
  } catch (err) {
    return { ...base, undecodable: err instanceof Error ? err.message : String(err) };
  }
  const redacted = redactMessage(type, decoded, { sensitiveKeys: opts.config.sensitiveKeys });
  return {
    ...base,
    details: requestDetails(type, redacted.value),
    secrets: redacted.secrets,
    ...(level === 'Request' ? { request: redacted.value } : {}),
  };
}
