// Calls about one sandbox or container go to the backend that owns it, as the bytes they
// came in; the response comes back as the backend's bytes.
import { MalformedMessageError, fieldsOf, peekString } from '../cri/wire.js';
import { ProxyError } from '../errors/catalogue.js';
import type { UnaryStrategy } from './deps.js';
import { forward } from './forward.js';

export const byId: UnaryStrategy = async (deps, ctx, request) => {
  const plan = ctx.plan;
  if (plan.row.strategy !== 'byId') throw new Error(`byId used for ${plan.name}`);
  const { owner: kind, idempotent, forgets } = plan.row;
  const id = peekString(request, plan.id!);
  if (!id) throw new ProxyError('CRIMUX_ERR_MISSING_ID', `${plan.name} needs ${plan.row.id}; the request has none`);
  if (kind === 'sandbox') ctx.route.sandboxId = id;
  else ctx.route.containerId = id;

  const found = await deps.ownership.resolve(kind, id, ctx.internalOptions(deps.config.failure.internalTimeoutMs));
  if (found.kind === 'unknown') {
    ctx.route.reason = 'unknown-id';
    // The CRI spec makes Stop/Remove idempotent: an object no runtime knows is already gone.
    if (idempotent) return Buffer.alloc(0);
    throw new ProxyError('CRIMUX_ERR_UNKNOWN_ID', `${kind} "${id}" not found on any backend (${deps.pool.all.map((b) => b.name).join(', ')})`);
  }
  const backend = found.backend;
  // The index keeps full ids: forget and link containers by it, not by a prefix a user typed.
  const fullId = found.id;
  ctx.route.reason = 'owner';
  const response = await forward(ctx, backend, request, plan.foreverWhenZero !== undefined && isZero(request, plan.foreverWhenZero));
  if (forgets) deps.ownership.forget(kind, fullId);
  if (plan.createsContainer) {
    // The container exists now: relay an answer the proxy cannot read rather than fail
    // (kubelet would create it again); its id then resolves on demand.
    let containerId: string | undefined;
    try {
      containerId = peekString(response, plan.createsContainer);
    } catch (err) {
      if (!(err instanceof MalformedMessageError)) throw err;
      deps.log.warn({ backend: backend.name, method: plan.name, err: err.message }, 'cannot read the id in a backend answer; relaying it as is');
    }
    if (containerId) {
      deps.ownership.recordContainer(containerId, backend.name, fullId);
      ctx.route.containerId = containerId;
    }
  }
  return response;
};

/** Whether integer field `number` is 0 (absent, as proto3 sends a 0). */
function isZero(request: Buffer, number: number): boolean {
  const f = fieldsOf(request).findLast((x) => x.number === number && x.wireType === 0);
  return !f || request.subarray(f.valueStart, f.valueEnd).every((b) => b === 0);
}
