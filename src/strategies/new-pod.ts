// RunPodSandbox and RestorePod: the routing rules choose the backend; the ids the backend
// returns join the ownership index before the client hears of them.
import { MalformedMessageError, peekRepeatedStrings, peekString, withString } from '../cri/wire.js';
import { ProxyError } from '../errors/catalogue.js';
import { decide } from '../routing/decide.js';
import type { UnaryStrategy } from './deps.js';
import { forward } from './forward.js';
import { podWorkload } from './workload.js';

export const newPod: UnaryStrategy = async (deps, ctx, request) => {
  const plan = ctx.plan;
  const handler = peekString(request, plan.handler!) ?? '';
  const workload = podWorkload(deps.schema, request, plan.podConfig!, handler);
  const decision = decide(deps.config, workload);
  ctx.route.reason = decision.reason;
  ctx.route.detail = decision.detail;
  // A rule may map the node-wide handler name to the backend's own (kata → "").
  const forwarded = decision.handler === handler ? request : withString(request, plan.handler!, decision.handler);
  if (forwarded !== request) ctx.route.handlerSent = decision.handler;
  const backend = deps.pool.get(decision.backend);
  if (backend.cgroupMismatch) {
    throw new ProxyError(
      'CRIMUX_ERR_BACKEND_MISCONFIGURED',
      `backend ${backend.name} ${backend.cgroupMismatch}; its pods would get cgroups of the wrong kind. Fix its config (containerd SystemdCgroup, CRI-O cgroup_manager)`,
    );
  }
  const response = await forward(ctx, backend, forwarded);
  deps.recentPods.remember(workload.annotations, backend.name);
  // The pod exists now: an answer the proxy cannot read must still reach the client
  // (failing here would make kubelet create the pod again); its ids resolve on demand.
  try {
    const sandboxId = peekString(response, plan.createsSandbox!);
    if (sandboxId) {
      deps.ownership.recordSandbox(sandboxId, backend.name);
      ctx.route.sandboxId = sandboxId;
    }
    if (plan.createsContainers) {
      for (const id of peekRepeatedStrings(response, plan.createsContainers.list, plan.createsContainers.id)) {
        deps.ownership.recordContainer(id, backend.name, sandboxId ?? '');
      }
    }
  } catch (err) {
    if (!(err instanceof MalformedMessageError)) throw err;
    deps.log.warn({ backend: backend.name, method: plan.name, err: err.message }, 'cannot read the ids in a backend answer; relaying it as is');
  }
  return response;
};
