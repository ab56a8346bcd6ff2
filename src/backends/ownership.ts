// Which backend owns each pod sandbox and container. IDs are the runtimes' own, never
// rewritten; this index is a cache of what the runtimes know, filled from responses,
// rebuilt from every backend's lists at start-up and on reconnect, and consulted on a
// miss by asking the backends themselves (which also resolves crictl-style id prefixes).
import { status as Code } from '@grpc/grpc-js';
import type { CallOptions } from './backend.js';
import type { Backend } from './backend.js';
import type { BackendPool } from './pool.js';
import { encodeField, entries, peekString } from '../cri/wire.js';
import { ProxyError } from '../errors/catalogue.js';
import { BackendError } from '../errors/status.js';

export type OwnerKind = 'sandbox' | 'container';

// Wire layout of the two lists used for ownership (runtime.v1): both requests carry
// filter = 1 with filter.id = 1; both responses list items in field 1 with id = 1;
// Container.pod_sandbox_id = 2. test/unit/backends/ownership.test.ts pins these to the schema.
export const OWNERSHIP_WIRE = {
  sandbox: { path: '/runtime.v1.RuntimeService/ListPodSandbox' },
  container: { path: '/runtime.v1.RuntimeService/ListContainers' },
  filter: 1,
  filterId: 1,
  items: 1,
  itemId: 1,
  containerSandboxId: 2,
} as const;

export type Resolution =
  /** `id`: the full id when the asked one was a unique prefix of it. */
  | { kind: 'owner'; backend: Backend; id: string }
  /** Every backend answered and none knows the id. */
  | { kind: 'unknown' };

interface ContainerEntry {
  backend: string;
  sandboxId: string;
}

export class Ownership {
  private readonly sandboxes = new Map<string, string>();
  private readonly containers = new Map<string, ContainerEntry>();
  /** Look-ups the index could not answer (exposed as a metric). */
  misses = 0;

  constructor(private readonly pool: BackendPool) {}

  recordSandbox(id: string, backend: string): void {
    this.sandboxes.set(id, backend);
  }

  recordContainer(id: string, backend: string, sandboxId = ''): void {
    this.containers.set(id, { backend, sandboxId });
  }

  forget(kind: OwnerKind, id: string): void {
    if (kind === 'container') {
      this.containers.delete(id);
      return;
    }
    this.sandboxes.delete(id);
    for (const [cid, entry] of this.containers) if (entry.sandboxId === id) this.containers.delete(cid);
  }

  lookup(kind: OwnerKind, id: string): string | undefined {
    return kind === 'sandbox' ? this.sandboxes.get(id) : this.containers.get(id)?.backend;
  }

  /** Index size per backend, for metrics. */
  sizes(): { backend: string; kind: OwnerKind; count: number }[] {
    const out: { backend: string; kind: OwnerKind; count: number }[] = [];
    for (const b of this.pool.all) {
      let s = 0;
      let c = 0;
      for (const v of this.sandboxes.values()) if (v === b.name) s++;
      for (const v of this.containers.values()) if (v.backend === b.name) c++;
      out.push({ backend: b.name, kind: 'sandbox', count: s }, { backend: b.name, kind: 'container', count: c });
    }
    return out;
  }

  /** Replace what the index believes about one backend with that backend's own lists. */
  async rebuild(backend: Backend, opts: CallOptions): Promise<void> {
    const [sandboxes, containers] = await Promise.all([
      listIds(backend, 'sandbox', '', opts),
      listIds(backend, 'container', '', opts),
    ]);
    for (const [id, owner] of this.sandboxes) if (owner === backend.name) this.sandboxes.delete(id);
    for (const [id, entry] of this.containers) if (entry.backend === backend.name) this.containers.delete(id);
    for (const s of sandboxes) this.sandboxes.set(s.id, backend.name);
    for (const c of containers) this.containers.set(c.id, { backend: backend.name, sandboxId: c.sandboxId });
  }

  /**
   * The owner of an id. Exact index hits answer at once; otherwise every backend is asked
   * (list filtered by id — runtimes match unique prefixes there too). NOT_FOUND is only
   * ever concluded when all backends answered; a backend that could not answer might own
   * the object, so the answer is then UNAVAILABLE.
   */
  async resolve(kind: OwnerKind, id: string, opts: CallOptions): Promise<Resolution> {
    const known = this.lookup(kind, id);
    if (known !== undefined) return { kind: 'owner', backend: this.pool.get(known), id };
    this.misses++;
    const answers = await Promise.all(
      this.pool.all.map(async (backend) => {
        try {
          return { backend, items: await listIds(backend, kind, id, opts) };
        } catch (err) {
          return { backend, error: BackendError.from(backend.name, err) };
        }
      }),
    );
    const owners = answers.filter((a) => a.items && a.items.length > 0);
    if (owners.length > 1) {
      const where = owners.map((o) => `${o.backend.name} (${o.items!.map((i) => i.id.slice(0, 16)).join(', ')})`).join('; ');
      throw new ProxyError('CRIMUX_ERR_AMBIGUOUS_ID', `${kind} id "${id}" matches on more than one backend: ${where}; use more characters of the id`);
    }
    if (owners.length === 1) {
      const { backend, items } = owners[0]!;
      for (const item of items!) {
        if (kind === 'sandbox') this.recordSandbox(item.id, backend.name);
        else this.recordContainer(item.id, backend.name, item.sandboxId);
      }
      return { kind: 'owner', backend, id: items!.length === 1 ? items![0]!.id : id };
    }
    const failed = answers.filter((a) => a.error);
    if (failed.length > 0) {
      const cancelled = failed.find((f) => f.error!.code === Code.CANCELLED || f.error!.code === Code.DEADLINE_EXCEEDED);
      if (cancelled) throw cancelled.error;
      const why = failed.map((f) => `${f.backend.name}: ${f.error!.details}`).join('; ');
      throw new ProxyError(
        'CRIMUX_ERR_BACKEND_UNAVAILABLE',
        `cannot tell which runtime owns ${kind} ${id}: ${why}. It may live there; retry when the backend is back`,
      );
    }
    return { kind: 'unknown' };
  }
}

interface ListedId {
  id: string;
  sandboxId: string;
}

async function listIds(backend: Backend, kind: OwnerKind, idFilter: string, opts: CallOptions): Promise<ListedId[]> {
  const w = OWNERSHIP_WIRE;
  const request = idFilter ? encodeField(w.filter, encodeField(w.filterId, Buffer.from(idFilter, 'utf8'))) : Buffer.alloc(0);
  const bytes = await backend.unary(w[kind].path, request, opts);
  return entries(bytes, w.items).map((item) => ({
    id: peekString(item, [w.itemId]) ?? '',
    sandboxId: kind === 'container' ? peekString(item, [w.containerSandboxId]) ?? '' : '',
  }));
}
