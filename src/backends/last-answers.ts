// The last good answer each backend gave to each list request, so that while a backend
// is down its pods do not vanish from kubelet's view (kubelet would recreate them):
// the stale answer stands in for a bounded window, then the call fails (DESIGN.md).

interface Entry {
  bytes: Buffer;
  at: number;
}

/** Per backend, the most recent distinct list requests kept (kubelet uses a handful of filters). */
const PER_BACKEND = 64;

export class LastAnswers {
  private readonly byBackend = new Map<string, Map<string, Entry>>();

  constructor(private readonly windowMs: number) {}

  private static key(method: string, request: Buffer): string {
    return `${method}\0${request.toString('base64')}`;
  }

  put(backend: string, method: string, request: Buffer, bytes: Buffer): void {
    let entries = this.byBackend.get(backend);
    if (!entries) this.byBackend.set(backend, (entries = new Map()));
    const key = LastAnswers.key(method, request);
    entries.delete(key); // re-insert: Map order is recency order
    entries.set(key, { bytes, at: Date.now() });
    if (entries.size > PER_BACKEND) entries.delete(entries.keys().next().value!);
  }

  /** The stored answer if it is younger than the window, with its age. */
  get(backend: string, method: string, request: Buffer): { bytes: Buffer; ageMs: number } | undefined {
    const entry = this.byBackend.get(backend)?.get(LastAnswers.key(method, request));
    if (!entry) return undefined;
    const ageMs = Date.now() - entry.at;
    return ageMs <= this.windowMs ? { bytes: entry.bytes, ageMs } : undefined;
  }

  /** Backends currently being served from memory, for Status info (set by the fan-out). */
  readonly servingStale = new Map<string, number>();
}
