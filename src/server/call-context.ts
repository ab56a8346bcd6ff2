// What a strategy knows about the call it serves, and what it reports back about where
// the call went (the metrics and audit log read `route`).
import { randomUUID } from 'node:crypto';
import { Metadata } from '@grpc/grpc-js';
import type { Backend, CallOptions } from '../backends/backend.js';
import type { MethodPlan } from '../cri/plan.js';

export interface Route {
  /** Backends the call was sent to, in order. */
  backends: string[];
  /** Why: annotation / rule / handler / default / owner / fan-out / proxy. */
  reason: string;
  /** The rule name or annotation key, when there is one. */
  detail: string;
  /** Backends whose last known answer stood in for a fresh one. */
  stale: string[];
  /** Optional backends left out because they were down. */
  skipped: string[];
  /** The runtime_handler the backend received, when a rule rewrote the client's. */
  handlerSent?: string;
  /** Ids the call created or acted on, for the audit log. */
  sandboxId?: string;
  containerId?: string;
}

/** Headers that describe the incoming HTTP/2 request itself, not the caller's intent. */
const HOP_BY_HOP = new Set(['user-agent', 'content-type', 'te', 'host', 'grpc-timeout', 'grpc-encoding', 'grpc-accept-encoding', 'grpc-message-type']);

export class CallContext {
  readonly requestId = randomUUID();
  readonly started = performance.now();
  readonly route: Route = { backends: [], reason: '', detail: '', stale: [], skipped: [] };
  /** The client's metadata (traceparent, baggage, …) as sent on to backends. */
  readonly forwardMetadata: Metadata;
  /** The user-agent the client claims (not verified; for the audit log's caller). */
  readonly userAgent: string;

  constructor(
    readonly plan: MethodPlan,
    incoming: Metadata,
    /** The client's deadline (ms since epoch), undefined when it set none. */
    readonly deadline: number | undefined,
    readonly signal: AbortSignal,
    readonly peer: string,
  ) {
    this.forwardMetadata = new Metadata();
    this.userAgent = String(incoming.get('user-agent')[0] ?? '');
    for (const key of Object.keys(incoming.getMap())) {
      if (HOP_BY_HOP.has(key) || key.startsWith(':')) continue;
      for (const v of incoming.get(key)) this.forwardMetadata.add(key, v);
    }
  }

  /**
   * Options for one backend call: the client's deadline, else the backend's configured
   * timeout (unless the method must run unbounded, e.g. PullImage, event streams).
   */
  optionsFor(backend: Backend, unbounded = false): CallOptions {
    let deadline = this.deadline;
    if (deadline === undefined && !unbounded && backend.config.timeoutMs !== undefined) deadline = Date.now() + backend.config.timeoutMs;
    return { metadata: this.forwardMetadata, deadline, signal: this.signal };
  }

  /** For the proxy's own helper calls (id look-ups): never unbounded. */
  internalOptions(defaultTimeoutMs: number): CallOptions {
    const own = Date.now() + defaultTimeoutMs;
    return { metadata: this.forwardMetadata, deadline: this.deadline === undefined ? own : Math.min(this.deadline, own), signal: this.signal };
  }

  sentTo(backend: string): void {
    if (!this.route.backends.includes(backend)) this.route.backends.push(backend);
  }
}
