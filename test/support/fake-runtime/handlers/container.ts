// Container RPCs: CreateContainer, Start/Stop/RemoveContainer, ContainerStatus, ListContainers,
// UpdateContainerResources, ReopenContainerLog, ExecSync, Exec, Attach, CheckpointContainer.
import { status } from '@grpc/grpc-js';
import type { DefaultHandler, FakeContext } from '../context.js';
import { toContainerStatus, toCRIContainer, verboseInfo } from '../convert.js';
import { idMatcher, matchesLabels, stateMatcher } from '../filters.js';
import { createContainer, removeContainer, startContainer, stopContainer } from '../lifecycle.js';
import { type DecodedMessage, rec, type ResponseMessage, str, stringMap, strings } from '../message.js';
import { type ContainerRecord, lookup, need } from '../state.js';
import { statusError } from '../status.js';
import { streamingUrl } from './sandbox.js';

/** listContainers applies a ContainerFilter (id/prefix, sandbox id/prefix, state, labels); shared with StreamContainers. */
export function listContainers(ctx: FakeContext, filter: DecodedMessage | undefined): ResponseMessage[] {
  const idMatches = idMatcher(ctx.state.containers, str(filter, 'id'));
  const sandboxMatches = idMatcher(ctx.state.sandboxes, str(filter, 'pod_sandbox_id'));
  const stateMatches = stateMatcher(filter);
  const selector = stringMap(filter, 'label_selector');
  return [...ctx.state.containers.values()]
    .filter((c) => idMatches(c.id) && sandboxMatches(c.pod_sandbox_id) && stateMatches(c.state))
    .filter((c) => matchesLabels(c.labels, selector))
    .map(toCRIContainer);
}

function needContainer(ctx: FakeContext, request: DecodedMessage): ContainerRecord {
  return need(ctx.state.containers, str(request, 'container_id'), 'container');
}

function needRunning(ctx: FakeContext, request: DecodedMessage): ContainerRecord {
  const container = needContainer(ctx, request);
  if (container.state !== 'CONTAINER_RUNNING') {
    throw statusError(status.FAILED_PRECONDITION, `container "${container.id}" is not running (${container.state})`);
  }
  return container;
}

export const containerHandlers = {
  CreateContainer(ctx, request) {
    const sandbox = need(ctx.state.sandboxes, str(request, 'pod_sandbox_id'), 'pod sandbox');
    if (sandbox.state !== 'SANDBOX_READY') {
      throw statusError(status.FAILED_PRECONDITION, `pod sandbox "${sandbox.id}" is not ready`);
    }
    return { container_id: createContainer(ctx, sandbox, rec(request, 'config')).id };
  },

  StartContainer(ctx, request) {
    startContainer(ctx, needContainer(ctx, request));
    return {};
  },

  // Idempotent per the CRI: stopping an unknown or exited container succeeds.
  StopContainer(ctx, request) {
    const container = lookup(ctx.state.containers, str(request, 'container_id'), 'container');
    if (container !== undefined) stopContainer(ctx, container);
    return {};
  },

  // Idempotent per the CRI: removing an unknown container succeeds.
  RemoveContainer(ctx, request) {
    const container = lookup(ctx.state.containers, str(request, 'container_id'), 'container');
    if (container !== undefined) removeContainer(ctx, container);
    return {};
  },

  ContainerStatus(ctx, request) {
    const container = needContainer(ctx, request);
    return {
      status: toContainerStatus(container),
      info: verboseInfo(request, { runtime: ctx.options.name, pid: 4242, config: container.config }),
    };
  },

  ListContainers(ctx, request) {
    return { containers: listContainers(ctx, rec(request, 'filter')) };
  },

  UpdateContainerResources(ctx, request) {
    needContainer(ctx, request).resources = request;
    return {};
  },

  ReopenContainerLog(ctx, request) {
    needRunning(ctx, request);
    return {};
  },

  // The "command" echoes itself, so tests can tell which container and backend ran it.
  ExecSync(ctx, request) {
    needRunning(ctx, request);
    return { stdout: Buffer.from(strings(request, 'cmd').join(' ')), stderr: Buffer.alloc(0), exit_code: 0 };
  },

  Exec(ctx, request) {
    return { url: streamingUrl(ctx, 'exec', needRunning(ctx, request).id) };
  },

  Attach(ctx, request) {
    return { url: streamingUrl(ctx, 'attach', needRunning(ctx, request).id) };
  },

  CheckpointContainer(ctx, request) {
    const container = needContainer(ctx, request);
    ctx.state.checkpoints.push({ method: 'CheckpointContainer', id: container.id, request });
    return {};
  },
} satisfies Record<string, DefaultHandler>;
