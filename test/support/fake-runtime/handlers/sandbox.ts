// Pod sandbox RPCs: RunPodSandbox, StopPodSandbox, RemovePodSandbox, PodSandboxStatus,
// ListPodSandbox, PortForward, UpdatePodSandboxResources, CheckpointPod, RestorePod.
import type { DefaultHandler, FakeContext } from '../context.js';
import { toContainerStatus, toCRISandbox, toSandboxStatus, verboseInfo } from '../convert.js';
import { idMatcher, matchesLabels, stateMatcher } from '../filters.js';
import { containersOf, createContainer, removeContainer, runSandbox, stopContainer } from '../lifecycle.js';
import { type DecodedMessage, rec, records, type ResponseMessage, str, stringMap } from '../message.js';
import { lookup, need, nowNanos } from '../state.js';

/** streamingUrl is the Exec/Attach/PortForward answer: unique per fake, kind and object. */
export function streamingUrl(ctx: FakeContext, kind: 'exec' | 'attach' | 'portforward', id: string): string {
  return `http://127.0.0.1:1/${ctx.options.name}/${kind}/${id}`;
}

/** listSandboxes applies a PodSandboxFilter (id or unique prefix, state, labels); shared with StreamPodSandboxes. */
export function listSandboxes(ctx: FakeContext, filter: DecodedMessage | undefined): ResponseMessage[] {
  const idMatches = idMatcher(ctx.state.sandboxes, str(filter, 'id'));
  const stateMatches = stateMatcher(filter);
  const selector = stringMap(filter, 'label_selector');
  return [...ctx.state.sandboxes.values()]
    .filter((s) => idMatches(s.id) && stateMatches(s.state) && matchesLabels(s.labels, selector))
    .map(toCRISandbox);
}

export const sandboxHandlers = {
  RunPodSandbox(ctx, request) {
    const sandbox = runSandbox(ctx, rec(request, 'config'), str(request, 'runtime_handler'));
    return { pod_sandbox_id: sandbox.id };
  },

  // Idempotent per the CRI: an unknown (already removed) sandbox is not an error.
  StopPodSandbox(ctx, request) {
    const sandbox = lookup(ctx.state.sandboxes, str(request, 'pod_sandbox_id'), 'pod sandbox');
    if (sandbox !== undefined) {
      for (const container of containersOf(ctx, sandbox.id)) stopContainer(ctx, container);
      sandbox.state = 'SANDBOX_NOTREADY';
    }
    return {};
  },

  // Idempotent; running containers are forcibly removed with the sandbox.
  RemovePodSandbox(ctx, request) {
    const sandbox = lookup(ctx.state.sandboxes, str(request, 'pod_sandbox_id'), 'pod sandbox');
    if (sandbox !== undefined) {
      for (const container of containersOf(ctx, sandbox.id)) removeContainer(ctx, container);
      ctx.state.sandboxes.delete(sandbox.id);
    }
    return {};
  },

  PodSandboxStatus(ctx, request) {
    const sandbox = need(ctx.state.sandboxes, str(request, 'pod_sandbox_id'), 'pod sandbox');
    return {
      status: toSandboxStatus(sandbox),
      info: verboseInfo(request, { runtime: ctx.options.name, config: sandbox.config }),
      containers_statuses: containersOf(ctx, sandbox.id).map(toContainerStatus),
      timestamp: nowNanos(),
    };
  },

  ListPodSandbox(ctx, request) {
    return { items: listSandboxes(ctx, rec(request, 'filter')) };
  },

  PortForward(ctx, request) {
    const sandbox = need(ctx.state.sandboxes, str(request, 'pod_sandbox_id'), 'pod sandbox');
    return { url: streamingUrl(ctx, 'portforward', sandbox.id) };
  },

  UpdatePodSandboxResources(ctx, request) {
    need(ctx.state.sandboxes, str(request, 'pod_sandbox_id'), 'pod sandbox').resources = request;
    return {};
  },

  CheckpointPod(ctx, request) {
    const sandbox = need(ctx.state.sandboxes, str(request, 'pod_sandbox_id'), 'pod sandbox');
    ctx.state.checkpoints.push({ method: 'CheckpointPod', id: sandbox.id, request });
    return {};
  },

  // A restored pod is a new sandbox plus its containers in CREATED state (never started here).
  RestorePod(ctx, request) {
    const sandbox = runSandbox(ctx, rec(request, 'config'), str(request, 'runtime_handler'));
    const restored = records(request, 'container_configs').map((config) => ({
      name: str(rec(config, 'metadata'), 'name'),
      container_id: createContainer(ctx, sandbox, config).id,
    }));
    return { pod_sandbox_id: sandbox.id, restored_containers: restored };
  },
} satisfies Record<string, DefaultHandler>;
