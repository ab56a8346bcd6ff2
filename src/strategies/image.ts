// Images live in each backend's own store, and an image is "present" only if the store of
// the backend that will run the pod has it (Kata #8337, containerd #9377: answering from
// another store makes kubelet skip a pull the pod needs). So PullImage and ImageStatus go
// to the workload's backend, chosen like a new pod from what the call tells (its pod
// config, or the image spec's runtime_handler and annotations, which kubelet fills from
// the pod); a call that tells nothing is about a pod on the default backend. RemoveImage
// without a hint (kubelet's image GC) removes the image from every store that holds it.
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

  const hinted = decision.reason !== 'default' || hasPod || spec.handler !== '';
  if (hinted || plan.row.unhinted === 'default') {
    return forward(ctx, deps.pool.get(decision.backend), rewriteHandler(deps, plan.image!, request, spec.handler, decision), plan.row.noDeadline === true);
  }
  ctx.route.reason = 'everywhere';
  return everywhere(deps, ctx, request);
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
