// Where the metrics are recorded: one CallObserver for every call on the proxy socket
// (STYLE 4/13: cross-cutting work in exactly one wrapper), listeners on each backend's
// call events, and a LiveState read at scrape time for gauges the proxy's parts keep.
import type { ProxyDeps } from '../strategies/deps.js';
import { CRI_PACKAGE } from '../cri/schema.js';
import type { CallContext } from '../server/call-context.js';
import type { CallObserver, Outcome } from '../server/observer.js';
import { grpcCodeName, type LiveState, type ProxyMetrics } from './metrics.js';

/** Methods whose success means a pod sandbox now exists on the chosen backend. */
const PLACES_POD = new Set(['RunPodSandbox', 'RestorePod']);

function grpcLabels(ctx: CallContext): { grpc_type: string; grpc_service: string; grpc_method: string } {
  const info = ctx.plan.info;
  return { grpc_type: info.serverStreaming ? 'server_stream' : 'unary', grpc_service: `${CRI_PACKAGE}.${info.service}`, grpc_method: info.name };
}

export function metricsObserver(m: ProxyMetrics): CallObserver {
  // end() runs for every call, begin() may not have (an earlier observer refused it).
  const begun = new WeakSet<CallContext>();
  return {
    begin(ctx) {
      const labels = grpcLabels(ctx);
      begun.add(ctx);
      m.started.inc(labels);
      m.received.inc(labels);
      m.inFlight.inc(labels);
    },
    message(ctx) {
      m.sent.inc(grpcLabels(ctx));
    },
    end(ctx: CallContext, outcome: Outcome) {
      const labels = grpcLabels(ctx);
      if (begun.delete(ctx)) m.inFlight.dec(labels);
      else {
        m.started.inc(labels);
        m.received.inc(labels);
      }
      m.handled.inc({ ...labels, grpc_code: grpcCodeName(outcome.code) });
      m.handlingSeconds.observe(labels, outcome.seconds);
      if (!ctx.plan.info.serverStreaming && outcome.code === 0) m.sent.inc(labels);
      if (outcome.reason.startsWith('CRIMUX_ERR_')) m.refusals.inc({ grpc_method: labels.grpc_method, reason: outcome.reason });
      const { route } = ctx;
      for (const backend of route.stale) m.fanOutStale.inc({ grpc_method: labels.grpc_method, backend });
      for (const backend of route.skipped) m.fanOutSkipped.inc({ grpc_method: labels.grpc_method, backend });
      if (outcome.code === 0 && PLACES_POD.has(labels.grpc_method) && route.backends[0] !== undefined) {
        m.podsPlaced.inc({ backend: route.backends[0], reason: route.reason, rule: route.detail || route.reason });
      }
    },
  };
}

/** Feed the per-backend metrics from backend call events and expose the proxy's live state. */
export function instrumentDeps(m: ProxyMetrics, deps: ProxyDeps): void {
  for (const backend of deps.pool.all) {
    backend.on('call', ({ path, code, seconds }) => {
      const grpc_method = path.slice(path.lastIndexOf('/') + 1);
      const labels = { backend: backend.name, grpc_method, grpc_code: grpcCodeName(code) };
      m.backendCalls.inc(labels);
      if (code !== 0) m.backendErrors.inc(labels);
      m.backendSeconds.observe({ backend: backend.name, grpc_method }, seconds);
    });
  }
  m.watch(liveState(deps));
}

export function liveState(deps: ProxyDeps): LiveState {
  return {
    backends: () =>
      deps.pool.all.map((b) => ({
        name: b.name,
        up: b.health === 'up',
        lastProbeOkMs: deps.pool.lastProbeOk.get(b.name),
        servingStale: deps.lastAnswers.staleSince(b.name) !== undefined,
      })),
    ownership: () => deps.ownership.sizes(),
    ownershipMisses: () => deps.ownership.misses,
    eventUpstreamOpens: () => deps.events.opened,
    eventSubscribers: () => deps.events.subscriberCount,
  };
}
