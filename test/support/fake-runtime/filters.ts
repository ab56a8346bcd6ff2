// List filters as runtimes apply them: every set field must match (AND).
import type { DecodedMessage } from './message.js';
import { rec, str } from './message.js';
import { resolveId } from './state.js';

/** matchesLabels: every selector pair is present in labels (api.MatchLabels semantics). */
export function matchesLabels(labels: Readonly<Record<string, string>>, selector: Readonly<Record<string, string>>): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

/**
 * idMatcher matches a filter id given in full or as a unique prefix. Like containerd, an
 * unknown or ambiguous prefix is kept literally, so it matches nothing.
 */
export function idMatcher(records: ReadonlyMap<string, unknown>, filterId: string): (id: string) => boolean {
  if (filterId === '') return () => true;
  let wanted = filterId;
  try {
    wanted = resolveId(records, filterId, 'filter') ?? filterId;
  } catch {
    // ambiguous prefix: keep it literal
  }
  return (id) => id === wanted;
}

/** stateMatcher: the filter's `state` wrapper message, when set, must equal the object's state. */
export function stateMatcher(filter: DecodedMessage | undefined): (state: string) => boolean {
  const wanted = str(rec(filter, 'state'), 'state');
  return wanted === '' ? () => true : (state) => state === wanted;
}
