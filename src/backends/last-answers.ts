// The last good answer each backend gave to each list request, so that while a backend
// is down its pods do not vanish from kubelet's view (kubelet would recreate them):
// the stale answer stands in for a bounded window, then the call fails (DESIGN.md).

interface Entry {
  bytes: Buffer;
  at: number;
}

/** Per backend, the most recent distinct list requests kept (kubelet uses a handful of filters)… */
const MAX_ENTRIES = 64;
/** …and the bytes they may hold, so a node with huge lists cannot grow this without bound. */
const MAX_BYTES = 64 * 1024 * 1024;

export class LastAnswers {
  private readonly byBackend = new Map<string, Map<string, Entry>>();
  private readonly bytesHeld = new Map<string, number>();
  /** Per backend, the time of the answer a stand-in came from (for Status info). */
  private readonly standingIn = new Map<string, number>();

  constructor(private readonly windowMs: number) {}

  private static key(method: string, request: Buffer): string {
    return `${method}\0${request.toString('base64')}`;
  }

  /** A fresh answer: remembered, and the backend no longer counts as served from memory. */
  put(backend: string, method: string, request: Buffer, bytes: Buffer): void {
    this.standingIn.delete(backend);
    let entries = this.byBackend.get(backend);
    if (!entries) this.byBackend.set(backend, (entries = new Map()));
    const key = LastAnswers.key(method, request);
    this.drop(backend, entries, key);
    entries.set(key, { bytes, at: Date.now() }); // Map order is recency order
    this.bytesHeld.set(backend, (this.bytesHeld.get(backend) ?? 0) + bytes.length);
    while (entries.size > MAX_ENTRIES || (this.bytesHeld.get(backend)! > MAX_BYTES && entries.size > 1)) {
      this.drop(backend, entries, entries.keys().next().value!);
    }
  }

  /** The stored answer to stand in for an unreachable backend, if younger than the window. */
  standIn(backend: string, method: string, request: Buffer): { bytes: Buffer; ageMs: number } | undefined {
    const entries = this.byBackend.get(backend);
    const key = LastAnswers.key(method, request);
    const entry = entries?.get(key);
    if (!entries || !entry) return undefined;
    const ageMs = Date.now() - entry.at;
    if (ageMs > this.windowMs) {
      this.drop(backend, entries, key);
      return undefined;
    }
    if (!this.standingIn.has(backend)) this.standingIn.set(backend, entry.at);
    return { bytes: entry.bytes, ageMs };
  }

  /** When the answers standing in for this backend were fresh, while that is within the window. */
  staleSince(backend: string): number | undefined {
    const since = this.standingIn.get(backend);
    return since !== undefined && Date.now() - since <= this.windowMs ? since : undefined;
  }

  /** The backend is back: whatever stood in for it is no longer being served. */
  backendUp(backend: string): void {
    this.standingIn.delete(backend);
  }

  private drop(backend: string, entries: Map<string, Entry>, key: string): void {
    const old = entries.get(key);
    if (!old) return;
    entries.delete(key);
    this.bytesHeld.set(backend, (this.bytesHeld.get(backend) ?? 0) - old.bytes.length);
  }
}
