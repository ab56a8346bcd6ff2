// The fake's in-memory runtime state: what a real runtime keeps in its stores. It lives on the
// FakeRuntime object (not the server), so a stop/restart keeps it, like a runtime's disk.
import { createHash, randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import type { DecodedMessage } from './message.js';
import { statusError } from './status.js';

export type SandboxState = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
export type ContainerState = 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN';

export interface SandboxRecord {
  readonly id: string;
  /** PodSandboxMetadata as the client sent it. */
  readonly metadata: DecodedMessage;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly runtime_handler: string;
  /** Nanoseconds since the epoch, as a decimal string (int64 on the wire). */
  readonly created_at: string;
  /** The whole PodSandboxConfig of RunPodSandbox/RestorePod. */
  readonly config: DecodedMessage;
  /** Pod IP the fake hands out. */
  readonly ip: string;
  state: SandboxState;
  /** Last UpdatePodSandboxResources request, if any. */
  resources?: DecodedMessage;
}

export interface ContainerRecord {
  readonly id: string;
  readonly pod_sandbox_id: string;
  readonly metadata: DecodedMessage;
  /** ImageSpec as the client sent it. */
  readonly image: DecodedMessage;
  /** Image id (`sha256:…`) the container runs. */
  readonly image_id: string;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly log_path: string;
  readonly created_at: string;
  /** The whole ContainerConfig of CreateContainer/RestorePod. */
  readonly config: DecodedMessage;
  state: ContainerState;
  started_at: string;
  finished_at: string;
  exit_code: number;
  reason: string;
  /** Last UpdateContainerResources request, if any. */
  resources?: DecodedMessage;
}

export interface ImageRecord {
  readonly id: string;
  readonly repo_tags: string[];
  readonly repo_digests: string[];
  /** uint64 as a decimal string. */
  readonly size: string;
  /** ImageSpec of the pull that stored it. */
  readonly spec: DecodedMessage;
  readonly pinned: boolean;
}

export interface CheckpointRecord {
  readonly method: 'CheckpointContainer' | 'CheckpointPod';
  /** Container id or pod sandbox id, resolved to the full id. */
  readonly id: string;
  readonly request: DecodedMessage;
}

export interface FakeState {
  readonly sandboxes: Map<string, SandboxRecord>;
  readonly containers: Map<string, ContainerRecord>;
  /** Keyed by image id (`sha256:…`). */
  readonly images: Map<string, ImageRecord>;
  readonly checkpoints: CheckpointRecord[];
  /** The last UpdateRuntimeConfig request (the pod CIDR kubelet pushed). */
  lastRuntimeConfig: DecodedMessage | undefined;
}

export function createState(): FakeState {
  return { sandboxes: new Map(), containers: new Map(), images: new Map(), checkpoints: [], lastRuntimeConfig: undefined };
}

/** newId makes a 64-hex id, the shape containerd and CRI-O use. */
export function newId(): string {
  return randomBytes(32).toString('hex');
}

let lastNanos = 0n;

/** nowNanos is wall-clock nanoseconds as an int64 string, strictly increasing within the process. */
export function nowNanos(): string {
  const now = BigInt(Date.now()) * 1_000_000n;
  lastNanos = now > lastNanos ? now : lastNanos + 1n;
  return lastNanos.toString();
}

/**
 * imageIdFor derives an image id from its name, so two fakes holding the same image report
 * the same id (as runtimes sharing one content store do).
 */
export function imageIdFor(name: string): string {
  return `sha256:${createHash('sha256').update(name).digest('hex')}`;
}

/**
 * resolveId turns a full id or unique id prefix (as crictl users type them) into the full id.
 * An empty id resolves to nothing; an ambiguous prefix is an error, as in containerd's truncindex.
 */
export function resolveId(records: ReadonlyMap<string, unknown>, idOrPrefix: string, what: string): string | undefined {
  if (idOrPrefix === '') return undefined;
  if (records.has(idOrPrefix)) return idOrPrefix;
  const [only, ...others] = [...records.keys()].filter((id) => id.startsWith(idOrPrefix));
  if (others.length > 0) {
    throw statusError(status.INVALID_ARGUMENT, `${what} id prefix "${idOrPrefix}" is ambiguous (${others.length + 1} matches)`);
  }
  return only;
}

/** lookup finds a record by full id or unique prefix (see resolveId). */
export function lookup<T>(records: ReadonlyMap<string, T>, idOrPrefix: string, what: string): T | undefined {
  const id = resolveId(records, idOrPrefix, what);
  return id === undefined ? undefined : records.get(id);
}

/** need is lookup that answers NOT_FOUND, for the RPCs that must fail on an unknown id. */
export function need<T>(records: ReadonlyMap<string, T>, idOrPrefix: string, what: string): T {
  const found = lookup(records, idOrPrefix, what);
  if (found === undefined) throw statusError(status.NOT_FOUND, `${what} "${idOrPrefix}" not found`);
  return found;
}

/** findImage resolves an image reference the way runtimes do: id, bare digest, tag or digest ref. */
export function findImage(images: ReadonlyMap<string, ImageRecord>, ref: string): ImageRecord | undefined {
  if (ref === '') return undefined;
  const byId = images.get(ref) ?? images.get(`sha256:${ref}`);
  if (byId !== undefined) return byId;
  for (const image of images.values()) {
    if (image.repo_tags.includes(ref) || image.repo_digests.includes(ref)) return image;
  }
  return undefined;
}
