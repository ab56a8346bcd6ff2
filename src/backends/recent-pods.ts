// Which backend recent pods went to, keyed by their annotations. kubelet creates a pod's
// sandbox before it checks its containers' images, and copies the pod's annotations into
// each ImageSpec (with kubelet's own kubernetes.io/config.seen timestamp, which makes the
// set nearly unique per pod). So an ImageStatus that cannot be routed by the rules alone
// (they look at namespaces or labels the call does not carry) can still be sent to the
// store of the runtime its pod was placed on.

import { createHash } from 'node:crypto';

/** Enough for the pods of a busy node; the oldest are forgotten first. */
const MAX_PODS = 4096;

export class RecentPods {
  private readonly byAnnotations = new Map<string, Set<string>>();

  /** A digest, not the annotations: a pod's may be 256 KiB, times MAX_PODS would be a gigabyte. */
  private static key(annotations: Readonly<Record<string, string>>): string | undefined {
    const entries = Object.entries(annotations);
    if (entries.length === 0) return undefined;
    return createHash('sha256').update(JSON.stringify(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))).digest('base64');
  }

  remember(annotations: Readonly<Record<string, string>>, backend: string): void {
    const key = RecentPods.key(annotations);
    if (key === undefined) return;
    const backends = this.byAnnotations.get(key) ?? new Set<string>();
    this.byAnnotations.delete(key); // re-insert: Map order is recency order
    this.byAnnotations.set(key, backends.add(backend));
    if (this.byAnnotations.size > MAX_PODS) this.byAnnotations.delete(this.byAnnotations.keys().next().value!);
  }

  /** The backend of the pods with exactly these annotations, if they all went to one. */
  backendFor(annotations: Readonly<Record<string, string>>): string | undefined {
    const key = RecentPods.key(annotations);
    const backends = key === undefined ? undefined : this.byAnnotations.get(key);
    return backends?.size === 1 ? [...backends][0] : undefined;
  }
}
