// Every metric cri-mux exports, named once here and registered on an injected Registry
// (never prom-client's global one), so a test or a second proxy gets its own set.
// Labels are bounded by the schema (methods, codes) or by the config (backends, rules,
// annotation keys): never an id, a pod name or an image.
import { status as Code } from '@grpc/grpc-js';
import { Counter, Gauge, Histogram, collectDefaultMetrics, type Registry } from 'prom-client';
import { CRI_MUX_VERSION } from '../version.js';

/** Seconds: CRI calls range from sub-millisecond lookups to VM starts and image pulls. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** gRPC code names as grpc-go spells them: what go-grpc-prometheus dashboards and kubelet logs show. */
const CODE_NAMES: Readonly<Record<number, string>> = {
  [Code.OK]: 'OK',
  [Code.CANCELLED]: 'Canceled',
  [Code.UNKNOWN]: 'Unknown',
  [Code.INVALID_ARGUMENT]: 'InvalidArgument',
  [Code.DEADLINE_EXCEEDED]: 'DeadlineExceeded',
  [Code.NOT_FOUND]: 'NotFound',
  [Code.ALREADY_EXISTS]: 'AlreadyExists',
  [Code.PERMISSION_DENIED]: 'PermissionDenied',
  [Code.RESOURCE_EXHAUSTED]: 'ResourceExhausted',
  [Code.FAILED_PRECONDITION]: 'FailedPrecondition',
  [Code.ABORTED]: 'Aborted',
  [Code.OUT_OF_RANGE]: 'OutOfRange',
  [Code.UNIMPLEMENTED]: 'Unimplemented',
  [Code.INTERNAL]: 'Internal',
  [Code.UNAVAILABLE]: 'Unavailable',
  [Code.DATA_LOSS]: 'DataLoss',
  [Code.UNAUTHENTICATED]: 'Unauthenticated',
};

export function grpcCodeName(code: number): string {
  return CODE_NAMES[code] ?? `Code(${code})`;
}

type GrpcLabels = 'grpc_type' | 'grpc_service' | 'grpc_method';

/** What the proxy looks like right now; read at every scrape (see watch()). */
export interface LiveState {
  backends(): readonly { name: string; up: boolean; lastProbeOkMs: number | undefined; servingStale: boolean }[];
  ownership(): readonly { backend: string; kind: string; count: number }[];
  /** Running totals kept by the proxy's parts; exported as counters. */
  ownershipMisses(): number;
  eventUpstreamOpens(): number;
  eventSubscribers(): number;
}

export interface ProxyMetrics {
  readonly registry: Registry;
  // The gRPC server side, as go-grpc-prometheus names it.
  readonly started: Counter<GrpcLabels>;
  readonly handled: Counter<GrpcLabels | 'grpc_code'>;
  readonly handlingSeconds: Histogram<GrpcLabels>;
  readonly received: Counter<GrpcLabels>;
  readonly sent: Counter<GrpcLabels>;
  readonly inFlight: Gauge<GrpcLabels>;
  // Backends.
  readonly backendCalls: Counter<'backend' | 'grpc_method' | 'grpc_code'>;
  readonly backendErrors: Counter<'backend' | 'grpc_method' | 'grpc_code'>;
  readonly backendSeconds: Histogram<'backend' | 'grpc_method'>;
  readonly backendUp: Gauge<'backend'>;
  readonly backendLastProbe: Gauge<'backend'>;
  readonly backendServingStale: Gauge<'backend'>;
  // Routing and ownership.
  readonly podsPlaced: Counter<'backend' | 'reason' | 'rule'>;
  readonly refusals: Counter<'grpc_method' | 'reason'>;
  readonly ownershipEntries: Gauge<'backend' | 'kind'>;
  readonly ownershipMisses: Counter;
  // Fan-out and events.
  readonly fanOutStale: Counter<'grpc_method' | 'backend'>;
  readonly fanOutSkipped: Counter<'grpc_method' | 'backend'>;
  readonly eventSubscribers: Gauge;
  readonly eventUpstreamOpens: Counter;
  // Audit.
  readonly auditWritten: Counter;
  readonly auditDropped: Counter;
  readonly auditWritable: Gauge<'path'>;
  /** Read `state` at every scrape for the gauges (and running totals) it describes. */
  watch(state: LiveState): void;
}

export interface MetricsOptions {
  /** prom-client's process_* and nodejs_* metrics (default true). */
  readonly processMetrics?: boolean;
}

export function createMetrics(registry: Registry, opts: MetricsOptions = {}): ProxyMetrics {
  const registers = [registry];
  const grpc: GrpcLabels[] = ['grpc_type', 'grpc_service', 'grpc_method'];
  let live: LiveState | undefined;
  /** A counter fed from a running total the proxy keeps: add what grew since the last scrape. */
  const totalOf = (read: (s: LiveState) => number) => {
    let seen = 0;
    return function (this: Counter): void {
      if (!live) return;
      const now = read(live);
      if (now > seen) this.inc(now - seen);
      seen = Math.max(seen, now);
    };
  };
  if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry });
  new Gauge({ name: 'crimux_build_info', help: 'Always 1; the version label says which cri-mux is running.', labelNames: ['version'], registers }).set(
    { version: CRI_MUX_VERSION },
    1,
  );
  return {
    registry,
    started: new Counter({ name: 'grpc_server_started_total', help: 'CRI calls started on the proxy socket.', labelNames: grpc, registers }),
    handled: new Counter({
      name: 'grpc_server_handled_total',
      help: 'CRI calls completed on the proxy socket, by the gRPC code the client received.',
      labelNames: [...grpc, 'grpc_code'],
      registers,
    }),
    handlingSeconds: new Histogram({
      name: 'grpc_server_handling_seconds',
      help: 'Time from a CRI call arriving to its answer (server streams: to their end).',
      labelNames: grpc,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    received: new Counter({ name: 'grpc_server_msg_received_total', help: 'Request messages received from clients.', labelNames: grpc, registers }),
    sent: new Counter({ name: 'grpc_server_msg_sent_total', help: 'Response messages sent to clients (stream messages counted one by one).', labelNames: grpc, registers }),
    inFlight: new Gauge({ name: 'grpc_server_in_flight_calls', help: 'CRI calls being served right now (open streams included).', labelNames: grpc, registers }),

    backendCalls: new Counter({
      name: 'crimux_backend_calls_total',
      help: 'Calls the proxy made to each backend (client calls, health probes and index rebuilds), by method and gRPC code.',
      labelNames: ['backend', 'grpc_method', 'grpc_code'],
      registers,
    }),
    backendErrors: new Counter({
      name: 'crimux_backend_errors_total',
      help: 'Backend calls that did not end OK, by method and gRPC code.',
      labelNames: ['backend', 'grpc_method', 'grpc_code'],
      registers,
    }),
    backendSeconds: new Histogram({
      name: 'crimux_backend_call_duration_seconds',
      help: 'Latency of calls to each backend (streams: their lifetime).',
      labelNames: ['backend', 'grpc_method'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    backendUp: new Gauge({
      name: 'crimux_backend_up',
      help: '1 while the backend answers, 0 while it is down or not yet probed.',
      labelNames: ['backend'],
      registers,
      collect() {
        for (const b of live?.backends() ?? []) this.set({ backend: b.name }, b.up ? 1 : 0);
      },
    }),
    backendLastProbe: new Gauge({
      name: 'crimux_backend_last_probe_success_timestamp_seconds',
      help: 'Unix time of the last health probe the backend answered.',
      labelNames: ['backend'],
      registers,
      collect() {
        for (const b of live?.backends() ?? []) if (b.lastProbeOkMs !== undefined) this.set({ backend: b.name }, b.lastProbeOkMs / 1000);
      },
    }),
    backendServingStale: new Gauge({
      name: 'crimux_backend_serving_stale',
      help: '1 while the backend is down and its last known list answers stand in for it (failure.staleListWindow).',
      labelNames: ['backend'],
      registers,
      collect() {
        for (const b of live?.backends() ?? []) this.set({ backend: b.name }, b.servingStale ? 1 : 0);
      },
    }),

    podsPlaced: new Counter({
      name: 'crimux_pods_placed_total',
      help: 'Pod sandboxes created (RunPodSandbox, RestorePod), by backend and by what chose it: reason rule|annotation|default, rule = rule name, annotation key or "default".',
      labelNames: ['backend', 'reason', 'rule'],
      registers,
    }),
    refusals: new Counter({
      name: 'crimux_route_refusals_total',
      help: 'Calls the proxy itself refused or could not route, by CRIMUX_ERR_* reason.',
      labelNames: ['grpc_method', 'reason'],
      registers,
    }),
    ownershipEntries: new Gauge({
      name: 'crimux_ownership_index_entries',
      help: 'Ids in the ownership index, by owning backend and kind (sandbox, container).',
      labelNames: ['backend', 'kind'],
      registers,
      collect() {
        for (const o of live?.ownership() ?? []) this.set({ backend: o.backend, kind: o.kind }, o.count);
      },
    }),
    ownershipMisses: new Counter({
      name: 'crimux_ownership_lookup_misses_total',
      help: 'Id look-ups the index could not answer, so every backend was asked.',
      registers,
      collect: totalOf((s) => s.ownershipMisses()),
    }),

    fanOutStale: new Counter({
      name: 'crimux_fanout_stale_answers_total',
      help: 'Merged answers in which a down backend was represented by its last known answer.',
      labelNames: ['grpc_method', 'backend'],
      registers,
    }),
    fanOutSkipped: new Counter({
      name: 'crimux_fanout_skipped_backends_total',
      help: 'Merged or broadcast calls that left out a down backend (optional backends, UpdateRuntimeConfig).',
      labelNames: ['grpc_method', 'backend'],
      registers,
    }),
    eventSubscribers: new Gauge({
      name: 'crimux_event_subscribers',
      help: 'Open GetContainerEvents streams to clients.',
      registers,
      collect() {
        this.set(live?.eventSubscribers() ?? 0);
      },
    }),
    eventUpstreamOpens: new Counter({
      name: 'crimux_event_upstream_opens_total',
      help: 'GetContainerEvents streams opened to backends (one per backend each time the first client subscribes after none).',
      registers,
      collect: totalOf((s) => s.eventUpstreamOpens()),
    }),

    auditWritten: new Counter({ name: 'crimux_audit_events_written_total', help: 'Audit events written to the audit log.', registers }),
    auditDropped: new Counter({ name: 'crimux_audit_events_dropped_total', help: 'Audit events that could not be written (the process log says why).', registers }),
    auditWritable: new Gauge({
      name: 'crimux_audit_log_writable',
      help: '1 while the audit log accepts writes, 0 after a failed open or write (no sample: no audit log configured).',
      labelNames: ['path'],
      registers,
    }),
    watch(state: LiveState): void {
      live = state;
    },
  };
}
