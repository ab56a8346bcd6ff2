// UpdateRuntimeConfig (the pod CIDR) goes to every backend, and the last one is replayed
// to any backend that comes (back) up, so a runtime restarted after kubelet sent it is
// not left without it (CRI-NOTES pitfall 16).
import type { Logger } from 'pino';
import type { Backend } from '../backends/backend.js';
import { BackendError } from '../errors/status.js';
import type { UnaryStrategy } from './deps.js';

const PATH = '/runtime.v1.RuntimeService/UpdateRuntimeConfig';

export class RuntimeConfigMemory {
  last: Buffer | undefined;
  /** Replays done, for metrics and tests. */
  replays = 0;

  constructor(private readonly log: Logger) {}

  async replay(backend: Backend, timeoutMs: number): Promise<void> {
    if (!this.last) return;
    try {
      await backend.unary(PATH, this.last, { deadline: Date.now() + timeoutMs });
      this.replays++;
      this.log.info({ backend: backend.name }, 'replayed the last UpdateRuntimeConfig to a backend that came up');
    } catch (err) {
      this.log.warn({ backend: backend.name, err: BackendError.from(backend.name, err).details }, 'replaying UpdateRuntimeConfig failed; will retry when it next comes up');
    }
  }
}

export const broadcast: UnaryStrategy = async (deps, ctx, request) => {
  deps.runtimeConfig.last = request;
  ctx.route.reason = 'broadcast';
  const results = await Promise.all(
    deps.pool.all.map(async (backend) => {
      ctx.sentTo(backend.name);
      try {
        return await backend.unary(ctx.plan.info.path, request, ctx.optionsFor(backend));
      } catch (err) {
        return BackendError.from(backend.name, err);
      }
    }),
  );
  // Unreachable backends get it on reconnect; any other refusal is the client's to see.
  const refused = results.find((r): r is BackendError => r instanceof BackendError && !r.unreachable);
  if (refused) throw refused;
  ctx.route.skipped.push(...results.flatMap((r) => (r instanceof BackendError ? [r.backend] : [])));
  return Buffer.alloc(0);
};
