// Where a new pod (or the image it pulls) goes: a pure function of the config and what the
// request says about the workload. RunPodSandbox, RestorePod, PullImage, the image look-ups
// and `cri-mux explain` all call it, so they can never disagree.
import type { Config, RuleConfig } from '../config/types.js';
import { ProxyError } from '../errors/catalogue.js';
import { anyGlob, globMatch } from './glob.js';

export interface Workload {
  /** RuntimeClass handler as the client sent it ("" = the runtime's default). */
  readonly handler: string;
  readonly namespace: string;
  readonly annotations: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
}

export type RouteReason = 'annotation' | 'rule' | 'default';

export interface Decision {
  readonly backend: string;
  readonly reason: RouteReason;
  /** The matched rule's name, or the annotation key that chose the backend. */
  readonly detail: string;
  /** The runtime_handler to send the backend (differs from the request's when a rule rewrites it). */
  readonly handler: string;
}

/**
 * Rules first: they are the operator's policy (a RuntimeClass handler, a namespace), and a
 * pod annotation — written by whoever writes the pod — must not escape them (CRI-NOTES
 * pitfall 11). Where no rule speaks, an annotation may name a backend the operator allows.
 */
export function decide(config: Config, w: Workload): Decision {
  const { routing } = config;
  for (const rule of routing.rules) {
    if (matches(rule, w)) {
      return { backend: rule.backend, reason: 'rule', detail: rule.name, handler: rule.handler ?? w.handler };
    }
  }
  for (const key of routing.annotationKeys) {
    const named = w.annotations[key];
    if (named === undefined || named === '') continue;
    if (!config.backends.some((b) => b.name === named)) {
      throw new ProxyError(
        'CRIMUX_ERR_UNKNOWN_BACKEND',
        `pod annotation ${key}=${named} names no configured backend (configured: ${config.backends.map((b) => b.name).join(', ')})`,
      );
    }
    if (!routing.annotationBackends.includes(named)) {
      throw new ProxyError(
        'CRIMUX_ERR_RUNTIME_DENIED',
        `pod annotation ${key}=${named}: this node only lets annotations choose ${routing.annotationBackends.join(', ') || 'no backend'} (routing.annotationBackends)`,
      );
    }
    return { backend: named, reason: 'annotation', detail: key, handler: w.handler };
  }
  const fallback = config.backends.find((b) => b.default)!;
  return { backend: fallback.name, reason: 'default', detail: 'default', handler: w.handler };
}

function matches(rule: RuleConfig, w: Workload): boolean {
  const m = rule.match;
  if (m.runtimeHandler && !anyGlob(m.runtimeHandler, w.handler)) return false;
  if (m.namespace && !anyGlob(m.namespace, w.namespace)) return false;
  if (m.annotations && !mapMatches(m.annotations, w.annotations)) return false;
  if (m.labels && !mapMatches(m.labels, w.labels)) return false;
  return true;
}

function mapMatches(want: Readonly<Record<string, string>>, have: Readonly<Record<string, string>>): boolean {
  return Object.entries(want).every(([k, pattern]) => have[k] !== undefined && globMatch(pattern, have[k]));
}
