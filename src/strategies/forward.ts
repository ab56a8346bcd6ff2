// The one step every routed strategy ends with: the request, as bytes, to one backend.
import type { Backend } from '../backends/backend.js';
import type { CallContext } from '../server/call-context.js';

/** Rejects with the backend's BackendError, relayed as it is. */
export function forward(ctx: CallContext, backend: Backend, request: Buffer, unbounded = false): Promise<Buffer> {
  ctx.sentTo(backend.name);
  return backend.unary(ctx.plan.info.path, request, ctx.optionsFor(backend, unbounded));
}
