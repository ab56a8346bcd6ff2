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
    const named = Object.hasOwn(w.annotations, key) ? w.annotations[key] : undefined;
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

/** What a call tells about a workload when it carries no pod config (an ImageSpec). */
export interface PartialWorkload {
  /** undefined: not told (kubelet sends the handler only behind a feature gate). */
  readonly handler: string | undefined;
  readonly annotations: Readonly<Record<string, string>>;
}

/**
 * Every backend a workload could be placed on, given only part of it: rules on namespace or
 * labels (and on the handler, when it is not told) might or might not match. Default
 * backend first when it is among them. Throws like decide() for refused annotations, unless a
 * rule might have placed the pod (a rule overrides the annotation).
 */
export function possibleBackends(config: Config, w: PartialWorkload): string[] {
  const out = new Set<string>();
  for (const rule of config.routing.rules) {
    const m = rule.match;
    if (m.annotations && !mapMatches(m.annotations, w.annotations)) continue;
    if (m.runtimeHandler && w.handler !== undefined && !anyGlob(m.runtimeHandler, w.handler)) continue;
    out.add(rule.backend);
    const certain = !m.namespace && !m.labels && (!m.runtimeHandler || w.handler !== undefined);
    if (certain) return ordered(config, out);
  }
  // No rule surely matched: what decide() does without rules is the remaining possibility.
  try {
    out.add(decide({ ...config, routing: { ...config.routing, rules: [] } }, { handler: w.handler ?? '', namespace: '', annotations: w.annotations, labels: {} }).backend);
  } catch (err) {
    // The annotation is refused, so a pod with it exists only if a rule took it (rules
    // come first and override annotations): the rules that might have are the answer.
    if (out.size === 0) throw err;
  }
  return ordered(config, out);
}

/**
 * The runtime_handler to send `backend` for a workload told only in part: the rewrite of
 * the first rule for that backend that might have placed it (kata → "" for a VM runtime
 * that knows no "kata"), else the handler as told.
 */
export function handlerOn(config: Config, backend: string, w: PartialWorkload & { readonly handler: string }): string {
  for (const rule of config.routing.rules) {
    const m = rule.match;
    if (rule.backend !== backend) continue;
    if (m.annotations && !mapMatches(m.annotations, w.annotations)) continue;
    if (m.runtimeHandler && !anyGlob(m.runtimeHandler, w.handler)) continue;
    return rule.handler ?? w.handler;
  }
  return w.handler;
}

function ordered(config: Config, names: ReadonlySet<string>): string[] {
  return config.backends.filter((b) => names.has(b.name)).map((b) => b.name);
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
  // Own keys only: a pod annotation named like an Object property ("constructor") is not one.
  return Object.entries(want).every(([k, pattern]) => Object.hasOwn(have, k) && globMatch(pattern, have[k]!));
}
