// The shape of a loaded, validated, frozen cri-mux configuration. Every field documented
// here is documented for operators in config/cri-mux.example.yaml too.

export interface BackendConfig {
  /** Name used in rules, annotations, metrics and logs (e.g. containerd, crio, kata). */
  readonly name: string;
  /** As written in the config: unix:///path/to/runtime.sock */
  readonly endpoint: string;
  /** The filesystem path of the endpoint. */
  readonly socketPath: string;
  /** Pods that no rule claims run here; exactly one backend is the default. */
  readonly default: boolean;
  /** While down, merged answers skip this backend (counted and shown in Status) instead of failing. */
  readonly optional: boolean;
  /** Its readiness counts in Status RuntimeReady (the default backend always counts). */
  readonly required: boolean;
  /** Deadline for calls that arrive without one (never for PullImage or event streams). */
  readonly timeoutMs: number | undefined;
}

export interface RuleMatch {
  /** Globs on RunPodSandboxRequest.runtime_handler (the RuntimeClass handler). */
  readonly runtimeHandler?: readonly string[];
  /** Globs on the pod's namespace. */
  readonly namespace?: readonly string[];
  /** Every listed key must be present with a value matching the glob. */
  readonly annotations?: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface RuleConfig {
  readonly name: string;
  readonly match: RuleMatch;
  readonly backend: string;
  /** When set, the runtime_handler the backend receives (e.g. proxy handler kata → ""). */
  readonly handler: string | undefined;
}

export interface RoutingConfig {
  /** Pod annotation keys whose value names a backend directly, checked in order. */
  readonly annotationKeys: readonly string[];
  /** Backends an annotation may choose; pod authors control annotations, so operators limit them. */
  readonly annotationBackends: readonly string[];
  readonly rules: readonly RuleConfig[];
}

export interface FailureConfig {
  /** How long a down backend's last list answer may stand in for it. */
  readonly staleListWindowMs: number;
  /** Health probe period and per-probe deadline. */
  readonly probeIntervalMs: number;
  readonly probeTimeoutMs: number;
  /** Deadline for the proxy's own calls (index rebuild, id look-ups) when the client gave none. */
  readonly internalTimeoutMs: number;
  /** How long one backend may take to answer a merged list before it counts as unreachable. */
  readonly listTimeoutMs: number;
}

export interface MetricsConfig {
  readonly enabled: boolean;
  readonly host: string;
  readonly port: number;
  /** Binding off loopback must be asked for explicitly. */
  readonly allowNonLoopback: boolean;
}

export type AuditLevel = 'None' | 'Metadata' | 'Request';

export interface AuditConfig {
  /** Absent: no audit log. */
  readonly path: string | undefined;
  /** Refuse audited calls with UNAVAILABLE when the audit log cannot be written. */
  readonly failClosed: boolean;
  /** Per-method level overrides on top of the default policy. */
  readonly levels: Readonly<Record<string, AuditLevel>>;
  /** Annotation/label keys (globs) whose values never reach a log. */
  readonly sensitiveKeys: readonly string[];
}

export interface Config {
  /** The file this came from, for messages. */
  readonly source: string;
  /** group: who besides root may use the socket (a group name or gid); undefined keeps root's. */
  readonly listen: { readonly socket: string; readonly mode: number; readonly group: string | number | undefined };
  readonly backends: readonly BackendConfig[];
  readonly routing: RoutingConfig;
  readonly failure: FailureConfig;
  /** Largest message accepted or sent, both directions (kubelet accepts 16 MiB). */
  readonly maxMessageBytes: number;
  readonly log: { readonly level: string };
  readonly metrics: MetricsConfig;
  readonly audit: AuditConfig;
}

export const DEFAULTS = {
  socket: '/run/cri-mux/cri-mux.sock',
  socketMode: 0o660,
  annotationKeys: ['cri-mux.io/backend', 'kubernetes.io/target-runtime'],
  staleListWindowMs: 5 * 60_000,
  probeIntervalMs: 5_000,
  probeTimeoutMs: 2_000,
  internalTimeoutMs: 10_000,
  listTimeoutMs: 20_000,
  maxMessageBytes: 64 * 1024 * 1024,
  logLevel: 'info',
  metricsHost: '127.0.0.1',
  metricsPort: 9464,
  /** Annotation/label keys whose values are kept out of logs unless the config lists its own. */
  sensitiveKeys: ['*token*', '*secret*', '*password*', '*passwd*', '*credential*', '*apikey*', '*api-key*', '*private-key*'],
} as const;
