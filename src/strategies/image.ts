// Images live in each backend's own store. PullImage places an image like the pod it is
// for; ImageStatus asks where it is for that workload; RemoveImage removes it from every
// store that holds it, unless the call says which workload it is for.
import { status as Code } from '@grpc/grpc-js';
import type { Backend } from '../backends/backend.js';
import { peekMessage } from '../cri/wire.js';
import { withString } from '../cri/wire.js';
import { decide, type Decision } from '../routing/decide.js';
import { BackendError } from '../errors/status.js';
import type { CallContext } from '../server/call-context.js';
import type { ProxyDeps, UnaryStrategy } from './deps.js';
import { forward } from './forward.js';
import { imageSpec, podWorkload } from './workload.js';

export const image: UnaryStrategy = async (deps, ctx, request) => {
  const plan = ctx.plan;
  if (plan.row.strategy !== 'image') throw new Error(`image used for ${plan.name}`);
  const spec = imageSpec(deps.schema, request, plan.image!);
  const hasPod = plan.podConfig !== undefined && peekMessage(request, plan.podConfig) !== undefined;
  const workload = hasPod
    ? podWorkload(deps.schema, request, plan.podConfig!, spec.handler)
    : { handler: spec.handler, namespace: '', annotations: spec.annotations, labels: {} };
  const decision = decide(deps.config, workload);
  ctx.route.reason = decision.reason;
  ctx.route.detail = decision.detail;

  // No hint at all (no rule, annotation or pod config picked a backend): look where it is.
  const hinted = decision.reason !== 'default' || hasPod || spec.handler !== '';
  if (plan.row.mode === 'place' || hinted) {
    return forward(ctx, deps.pool.get(decision.backend), rewriteHandler(deps, plan.image!, request, spec.handler, decision), plan.row.noDeadline === true);
  }
  ctx.route.reason = 'lookup';
  return plan.row.mode === 'find' ? find(deps, ctx, request) : everywhere(deps, ctx, request);
};

/** A rule's handler rewrite applies to the image's runtime_handler too. */
function rewriteHandler(deps: ProxyDeps, imagePath: readonly number[], request: Buffer, handler: string, d: Decision): Buffer {
  if (handler === '' || d.handler === handler) return request;
  const inSpec = deps.schema.fieldPath(deps.schema.type('ImageSpec'), 'runtime_handler');
  return withString(request, [...imagePath, ...inSpec], d.handler);
}

type Outcome = { backend: Backend; bytes: Buffer } | { backend: Backend; error: BackendError };

function askAll(deps: ProxyDeps, ctx: CallContext, request: Buffer): Promise<Outcome[]> {
  return Promise.all(
    deps.pool.all.map(async (backend): Promise<Outcome> => {
      ctx.sentTo(backend.name);
      try {
        return { backend, bytes: await backend.unary(ctx.plan.info.path, request, ctx.optionsFor(backend)) };
      } catch (err) {
        return { backend, error: BackendError.from(backend.name, err) };
      }
    }),
  );
}

/** ImageStatus without a hint: the default backend's answer, unless only another store has the image. */
async function find(deps: ProxyDeps, ctx: CallContext, request: Buffer): Promise<Buffer> {
  const imageField = deps.schema.fieldPath(ctx.plan.info.responseType, 'image');
  const outcomes = await askAll(deps, ctx, request);
  const present = outcomes.find((o) => 'bytes' in o && peekMessage(o.bytes, imageField) !== undefined);
  if (present && 'bytes' in present) {
    ctx.route.backends = [present.backend.name];
    return present.bytes;
  }
  const first = outcomes[0]!; // the default backend
  if ('error' in first) throw first.error;
  return first.bytes;
}

/** RemoveImage without a hint: every store that holds it; NOT_FOUND counts as removed. */
async function everywhere(deps: ProxyDeps, ctx: CallContext, request: Buffer): Promise<Buffer> {
  const outcomes = await askAll(deps, ctx, request);
  for (const o of outcomes) {
    if (!('error' in o) || o.error.code === Code.NOT_FOUND) continue;
    if (o.error.unreachable && o.backend.config.optional) {
      ctx.route.skipped.push(o.backend.name);
      continue;
    }
    throw o.error;
  }
  return Buffer.alloc(0);
}
