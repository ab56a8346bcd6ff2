// State transitions of sandboxes and containers, shared by the RPCs that cause them
// (RunPodSandbox and RestorePod both create a sandbox; StopPodSandbox stops containers…).
// Every container transition publishes its GetContainerEvents event here, in one place.
import { posix } from 'node:path';
import { status } from '@grpc/grpc-js';
import type { FakeContext } from './context.js';
import { toContainerEvent } from './convert.js';
import { type DecodedMessage, rec, str, stringMap } from './message.js';
import { statusError } from './status.js';
import {
  type ContainerRecord,
  findImage,
  imageIdFor,
  newId,
  nowNanos,
  type SandboxRecord,
} from './state.js';

/** runtimeHandlers are the handler names the fake serves: the default, runc, and its own name. */
export function runtimeHandlers(ctx: FakeContext): string[] {
  return [...new Set(['', 'runc', ctx.options.name])];
}

let podIpCounter = 0;

export function runSandbox(ctx: FakeContext, config: DecodedMessage | undefined, runtimeHandler: string): SandboxRecord {
  if (!runtimeHandlers(ctx).includes(runtimeHandler)) {
    // containerd's wording; it reaches kubelet as UNKNOWN because containerd does not classify it.
    throw statusError(status.UNKNOWN, `failed to get sandbox runtime: no runtime for "${runtimeHandler}" is configured`);
  }
  podIpCounter++;
  const sandbox: SandboxRecord = {
    id: newId(),
    metadata: rec(config, 'metadata') ?? {},
    labels: stringMap(config, 'labels'),
    annotations: stringMap(config, 'annotations'),
    runtime_handler: runtimeHandler,
    created_at: nowNanos(),
    config: config ?? {},
    ip: `10.88.${(podIpCounter >> 8) & 255}.${podIpCounter & 255}`,
    state: 'SANDBOX_READY',
  };
  ctx.state.sandboxes.set(sandbox.id, sandbox);
  return sandbox;
}

export function createContainer(ctx: FakeContext, sandbox: SandboxRecord, config: DecodedMessage | undefined): ContainerRecord {
  const image = rec(config, 'image') ?? {};
  const imageName = str(image, 'image');
  const logPath = str(config, 'log_path');
  const logDirectory = str(sandbox.config, 'log_directory');
  const container: ContainerRecord = {
    id: newId(),
    pod_sandbox_id: sandbox.id,
    metadata: rec(config, 'metadata') ?? {},
    image,
    image_id: findImage(ctx.state.images, imageName)?.id ?? imageIdFor(imageName),
    labels: stringMap(config, 'labels'),
    annotations: stringMap(config, 'annotations'),
    log_path: logPath !== '' && logDirectory !== '' ? posix.join(logDirectory, logPath) : logPath,
    created_at: nowNanos(),
    config: config ?? {},
    state: 'CONTAINER_CREATED',
    started_at: '0',
    finished_at: '0',
    exit_code: 0,
    reason: '',
  };
  ctx.state.containers.set(container.id, container);
  ctx.events.publish(toContainerEvent(ctx, container, 'CONTAINER_CREATED_EVENT'));
  return container;
}

export function startContainer(ctx: FakeContext, container: ContainerRecord): void {
  if (container.state !== 'CONTAINER_CREATED') {
    throw statusError(status.FAILED_PRECONDITION, `container "${container.id}" is in ${container.state} state, not CONTAINER_CREATED`);
  }
  container.state = 'CONTAINER_RUNNING';
  container.started_at = nowNanos();
  ctx.events.publish(toContainerEvent(ctx, container, 'CONTAINER_STARTED_EVENT'));
}

/** stopContainer is idempotent: an exited container stays as it is and publishes nothing. */
export function stopContainer(ctx: FakeContext, container: ContainerRecord): void {
  if (container.state === 'CONTAINER_EXITED') return;
  container.state = 'CONTAINER_EXITED';
  container.finished_at = nowNanos();
  container.exit_code = 0;
  container.reason = 'Completed';
  ctx.events.publish(toContainerEvent(ctx, container, 'CONTAINER_STOPPED_EVENT'));
}

/** removeContainer kills a running container first, as the CRI requires ("forcibly removed"). */
export function removeContainer(ctx: FakeContext, container: ContainerRecord): void {
  if (container.state === 'CONTAINER_RUNNING') stopContainer(ctx, container);
  if (!ctx.state.containers.delete(container.id)) return;
  ctx.events.publish(toContainerEvent(ctx, container, 'CONTAINER_DELETED_EVENT'));
}

export function containersOf(ctx: FakeContext, sandboxId: string): ContainerRecord[] {
  return [...ctx.state.containers.values()].filter((c) => c.pod_sandbox_id === sandboxId);
}
