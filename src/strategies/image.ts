// Images live in each backend's own store, and an image is "present" only if the store of
// the backend that will run the pod has it (Kata #8337, containerd #9377: answering from
// another store makes kubelet skip a pull the pod needs, and the pod never starts). The
// backend is chosen like a new pod from what the call tells: PullImage carries the pod
// config; ImageStatus only the image spec, whose runtime_handler (behind a kubelet gate)
// and annotations (kubelet copies the pod's) may not be enough when rules look at
// namespaces or labels. Then the image counts as present only if every backend the pod
// might land on holds it: at worst an extra pull, which goes to the right store because
// PullImage does carry the pod config. RemoveImage without a hint (kubelet's image GC)
// removes the image from every store that holds it.
import { status as Code } from '@grpc/grpc-js';
import type { Backend } from '../backends/backend.js';
import { peekMessage } from '../cri/wire.js';
import { withString } from '../cri/wire.js';
import { decide, handlerOn, possibleBackends, type Decision } from '../routing/decide.js';
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

  // Without the namespace and labels, decide() may refuse an annotation that a rule
  // overrode when the pod was placed: ImageStatus then still answers (below).
  let decision: Decision | undefined;
  let refusal: unknown;
  try {
    decision = decide(deps.config, workload);
  } catch (err) {
    refusal = err;
  }

  if (plan.row.where === 'possible' && !hasPod) {
    const possible = possibleBackends(deps.config, { handler: spec.handler || undefined, annotations: spec.annotations });
    // Rules alone cannot tell: the pod whose annotations these are was placed already.
    const placed = possible.length > 1 ? deps.recentPods.backendFor(spec.annotations) : undefined;
    // Each backend gets the handler name it knows (a rule's rewrite), as PullImage does.
    const requestFor = (b: Backend): Buffer => {
      if (spec.handler === '') return request;
      const handler = handlerOn(deps.config, b.name, { handler: spec.handler, annotations: spec.annotations });
      return handler === spec.handler ? request : withImageHandler(deps, plan.image!, request, handler);
    };
    if (placed !== undefined) {
      ctx.route.reason = 'pod';
      const backend = deps.pool.get(placed);
      return forward(ctx, backend, requestFor(backend));
    }
    if (possible.length > 1 || decision === undefined) {
      ctx.route.reason = 'possible';
      ctx.route.detail = possible.join(',');
      return presentOnAll(deps, ctx, requestFor, possible.map((name) => deps.pool.get(name)));
    }
  }
  if (decision === undefined) throw refusal;
  ctx.route.reason = decision.reason;
  ctx.route.detail = decision.detail;
  // A hint is something the call says about the workload; a rule that matches a spec
  // saying nothing (runtimeHandler "", namespace "*") is not one: image GC sends only the id.
  const hinted = hasPod || spec.handler !== '' || (Object.keys(spec.annotations).length > 0 && decision.reason !== 'default');
  if (plan.row.where === 'holders' && !hinted) {
    ctx.route.reason = 'everywhere';
    return everywhere(deps, ctx, request);
  }
  // A rule's handler rewrite applies to the image's runtime_handler too.
  const rewritten = spec.handler === '' || decision.handler === spec.handler ? request : withImageHandler(deps, plan.image!, request, decision.handler);
  return forward(ctx, deps.pool.get(decision.backend), rewritten, plan.row.noDeadline === true);
};

/** The request with the image spec's runtime_handler set to `handler`. */
function withImageHandler(deps: ProxyDeps, imagePath: readonly number[], request: Buffer, handler: string): Buffer {
  const inSpec = deps.schema.fieldPath(deps.schema.type('ImageSpec'), 'runtime_handler');
  return withString(request, [...imagePath, ...inSpec], handler);
}

type Outcome = { backend: Backend; bytes: Buffer } | { backend: Backend; error: BackendError };

function askAll(ctx: CallContext, request: Buffer | ((b: Backend) => Buffer), backends: readonly Backend[]): Promise<Outcome[]> {
  return Promise.all(
    backends.map(async (backend): Promise<Outcome> => {
      ctx.sentTo(backend.name);
      try {
        const bytes = typeof request === 'function' ? request(backend) : request;
        return { backend, bytes: await backend.unary(ctx.plan.info.path, bytes, ctx.optionsFor(backend)) };
      } catch (err) {
        return { backend, error: BackendError.from(backend.name, err) };
      }
    }),
  );
}

/**
 * ImageStatus when the pod may land on several backends: their answer if every reachable
 * one holds the image, else the answer of one that does not (kubelet then pulls, with the
 * pod config). An unreachable backend cannot take the pod either, so it is left out.
 */
async function presentOnAll(deps: ProxyDeps, ctx: CallContext, request: (b: Backend) => Buffer, backends: readonly Backend[]): Promise<Buffer> {
  const imageField = deps.schema.fieldPath(ctx.plan.info.responseType, 'image');
  const outcomes = await askAll(ctx, request, backends);
  const answered: { backend: Backend; bytes: Buffer }[] = [];
  for (const o of outcomes) {
    if ('bytes' in o) answered.push(o);
    else if (o.error.unreachable) ctx.route.skipped.push(o.backend.name);
    else throw o.error;
  }
  if (answered.length === 0) throw (outcomes[0] as { error: BackendError }).error;
  return (answered.find((a) => peekMessage(a.bytes, imageField) === undefined) ?? answered[0]!).bytes;
}

/** RemoveImage without a hint: every store that holds it; NOT_FOUND counts as removed. */
async function everywhere(deps: ProxyDeps, ctx: CallContext, request: Buffer): Promise<Buffer> {
  const outcomes = await askAll(ctx, request, deps.pool.all);
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
