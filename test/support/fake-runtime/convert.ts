// State records → CRI response messages (containerd's toCRI* converters, in miniature).
import type { FakeContext } from './context.js';
import { bool, type DecodedMessage, rec, records, type ResponseMessage, str } from './message.js';
import { type ContainerRecord, type ImageRecord, nowNanos, type SandboxRecord } from './state.js';

export function toCRISandbox(sandbox: SandboxRecord): ResponseMessage {
  return {
    id: sandbox.id,
    metadata: sandbox.metadata,
    state: sandbox.state,
    created_at: sandbox.created_at,
    labels: sandbox.labels,
    annotations: sandbox.annotations,
    runtime_handler: sandbox.runtime_handler,
  };
}

export function toSandboxStatus(sandbox: SandboxRecord): ResponseMessage {
  const securityContext = rec(rec(sandbox.config, 'linux'), 'security_context');
  return {
    ...toCRISandbox(sandbox),
    network: { ip: sandbox.ip, additional_ips: [] },
    linux: { namespaces: { options: rec(securityContext, 'namespace_options') ?? null } },
  };
}

export function toCRIContainer(container: ContainerRecord): ResponseMessage {
  return {
    id: container.id,
    pod_sandbox_id: container.pod_sandbox_id,
    metadata: container.metadata,
    image: container.image,
    image_ref: container.image_id,
    state: container.state,
    created_at: container.created_at,
    labels: container.labels,
    annotations: container.annotations,
    image_id: container.image_id,
  };
}

export function toContainerStatus(container: ContainerRecord): ResponseMessage {
  const linuxResources = rec(container.resources, 'linux') ?? rec(rec(container.config, 'linux'), 'resources');
  return {
    id: container.id,
    metadata: container.metadata,
    state: container.state,
    created_at: container.created_at,
    started_at: container.started_at,
    finished_at: container.finished_at,
    exit_code: container.exit_code,
    image: container.image,
    image_ref: container.image_id,
    reason: container.reason,
    message: '',
    labels: container.labels,
    annotations: container.annotations,
    mounts: records(container.config, 'mounts'),
    log_path: container.log_path,
    resources: { linux: linuxResources ?? null },
    image_id: container.image_id,
    stop_signal: str(container.config, 'stop_signal') || 'SIGNAL_RUNTIME_DEFAULT',
  };
}

export function toCRIImage(image: ImageRecord): ResponseMessage {
  return {
    id: image.id,
    repo_tags: image.repo_tags,
    repo_digests: image.repo_digests,
    size: image.size,
    username: '',
    spec: image.spec,
    pinned: image.pinned,
  };
}

export type ContainerEventType =
  | 'CONTAINER_CREATED_EVENT'
  | 'CONTAINER_STARTED_EVENT'
  | 'CONTAINER_STOPPED_EVENT'
  | 'CONTAINER_DELETED_EVENT';

/** toContainerEvent is what GetContainerEvents sends for a container change. */
export function toContainerEvent(ctx: FakeContext, container: ContainerRecord, type: ContainerEventType): ResponseMessage {
  const sandbox = ctx.state.sandboxes.get(container.pod_sandbox_id);
  return {
    container_id: container.id,
    container_event_type: type,
    created_at: nowNanos(),
    pod_sandbox_status: sandbox === undefined ? null : toSandboxStatus(sandbox),
    containers_statuses: [toContainerStatus(container)],
  };
}

/** verboseInfo is the `info` map of *Status responses: filled only when asked, like runtimes do. */
export function verboseInfo(request: DecodedMessage, details: Record<string, unknown>): Record<string, string> {
  return bool(request, 'verbose') ? { info: JSON.stringify(details) } : {};
}
