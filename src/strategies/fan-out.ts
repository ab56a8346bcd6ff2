// Ask several backends in parallel and collect their answers, applying the failure
// policy of DESIGN.md: UNIMPLEMENTED contributes nothing; an unreachable backend's last
// answer stands in for a bounded window (marked stale), an optional one is skipped
// (visibly), and otherwise the call fails with UNAVAILABLE naming the backend.
import { status as Code } from '@grpc/grpc-js';
import type { Backend } from '../backends/backend.js';
import type { MethodInfo } from '../cri/schema.js';
import type { MethodPlan } from '../cri/plan.js';
import { peekString } from '../cri/wire.js';
import { decide } from '../routing/decide.js';
import { ProxyError } from '../errors/catalogue.js';
import { BackendError } from '../errors/status.js';
import type { CallContext } from '../server/call-context.js';
import type { ProxyDeps, UnaryStrategy } from './deps.js';
import { mergeAnswers } from './merge.js';

export const fanOut: UnaryStrategy = async (deps, ctx, request) => {
  const plan = ctx.plan;
  const parts = await gather(deps, ctx, plan.info, request, targetsFor(deps, plan, request, ctx));
  return mergeAnswers(parts, plan.merge!);
};

/** All backends, or the single one a filter pins the call to (a filter by id goes only to the owner). */
export function targetsFor(deps: ProxyDeps, plan: MethodPlan, request: Buffer, ctx: CallContext): readonly Backend[] {
  const n = plan.narrow;
  if (n) {
    for (const [kind, path] of [['container', n.containerId], ['sandbox', n.sandboxId]] as const) {
      const id = path && peekString(request, path);
      const owner = id ? deps.ownership.lookup(kind, id) : undefined;
      if (owner !== undefined) {
        ctx.route.reason = 'owner';
        return [deps.pool.get(owner)];
      }
    }
    const handler = n.handler && peekString(request, n.handler);
    if (handler) {
      const d = decide(deps.config, { handler, namespace: '', annotations: {}, labels: {} });
      ctx.route.reason = d.reason;
      ctx.route.detail = d.detail;
      return [deps.pool.get(d.backend)];
    }
  }
  ctx.route.reason = 'fan-out';
  return deps.pool.all;
}

/** Answers in target order (default backend first); see the module comment for failures. */
export async function gather(deps: ProxyDeps, ctx: CallContext, method: MethodInfo, request: Buffer, targets: readonly Backend[]): Promise<Buffer[]> {
  const results = await Promise.all(targets.map((b) => askOne(deps, ctx, method, request, b)));
  if (results.every((r) => r === 'unimplemented')) {
    throw new ProxyError('CRIMUX_ERR_UNIMPLEMENTED', `${method.name} is not implemented by any backend (${targets.map((t) => t.name).join(', ')})`);
  }
  return results.filter((r): r is Buffer => Buffer.isBuffer(r));
}

async function askOne(deps: ProxyDeps, ctx: CallContext, method: MethodInfo, request: Buffer, backend: Backend): Promise<Buffer | 'unimplemented' | 'skipped'> {
  ctx.sentTo(backend.name);
  // Each backend gets its own, shorter deadline: one hung runtime must not stall the list.
  const opts = ctx.optionsFor(backend);
  const ownDeadline = Date.now() + deps.config.failure.listTimeoutMs;
  const clientBound = opts.deadline !== undefined && opts.deadline <= ownDeadline;
  try {
    const bytes = await backend.unary(method.path, request, clientBound ? opts : { ...opts, deadline: ownDeadline });
    deps.lastAnswers.put(backend.name, method.name, request, bytes);
    return bytes;
  } catch (err) {
    const e = BackendError.from(backend.name, err);
    if (e.code === Code.UNIMPLEMENTED) return 'unimplemented';
    const tooSlow = e.code === Code.DEADLINE_EXCEEDED && !clientBound;
    if (!e.unreachable && !tooSlow) throw e;
    return standIn(deps, ctx, method, request, backend, e);
  }
}

/** What a fan-out uses for a backend that cannot be reached right now. */
export function standIn(deps: ProxyDeps, ctx: CallContext, method: MethodInfo, request: Buffer, backend: Backend, e: BackendError): Buffer | 'skipped' {
  const last = deps.lastAnswers.standIn(backend.name, method.name, request);
  if (last) {
    ctx.route.stale.push(backend.name);
    return last.bytes;
  }
  if (backend.config.optional) {
    ctx.route.skipped.push(backend.name);
    return 'skipped';
  }
  throw new ProxyError(
    'CRIMUX_ERR_BACKEND_UNAVAILABLE',
    `backend ${backend.name} is unavailable (${e.details}) and has no answer to ${method.name} younger than failure.staleListWindow; its pods cannot be listed`,
  );
}
