// THE method table: what the proxy does with each CRI v1 RPC, in one screen.
// A row names a strategy (src/strategies/) and, by field NAME, where its routing key sits;
// compile() turns names into wire numbers against proto/ at start-up and fails fast on a typo.
// A new CRI RPC costs one row; test/unit/cri/table.test.ts checks rows == schema methods.

/** How a merged answer is assembled from per-backend answers (bytes, in backend order). */
export type Merge =
  /** Concatenate: protobuf appends repeated fields, so A's bytes + B's bytes is the union. */
  | { by: 'concat' }
  /** Concatenate, keeping the first item per key in each listed repeated field. */
  | { by: 'unique'; lists: readonly string[]; key: string };

/** Request fields that, when set, send a fan-out call to one backend only. */
export interface Narrow {
  readonly sandboxId?: string;
  readonly containerId?: string;
  readonly handler?: string;
}

export type Row =
  /** Answered for the whole node by the proxy (consulting backends). */
  | { strategy: 'node'; answer: 'version' | 'status' | 'runtimeConfig' }
  /** A new pod: the routing rules choose the backend. */
  | { strategy: 'newPod'; podConfig: string; handler: string; createsSandbox: string; createsContainers?: { list: string; id: string } }
  /** Routed to the backend owning the sandbox or container id. */
  | {
      strategy: 'byId';
      owner: 'sandbox' | 'container';
      id: string;
      /** When no backend knows the id, answer success (the RPC is idempotent by the CRI spec). */
      idempotent?: true;
      /** On success the id leaves the ownership index. */
      forgets?: true;
      /** On success the response's container id joins the index under the same backend. */
      createsContainer?: string;
      /**
       * A request field (seconds, an integer) whose 0 means "run forever": kubelet then sets
       * no deadline, and neither does the proxy (no backend `timeout` either).
       */
      foreverWhenZero?: string;
    }
  /**
   * Image calls concern the store of the backend the workload will run on, chosen like a
   * new pod from what the call tells (pod config, else the image spec's handler and
   * annotations). `where`: `decided` — that backend; `possible` — when the call does not
   * tell enough to decide, every backend the pod might land on must hold the image for it
   * to count as present; `holders` — without a hint, every store that holds the image.
   */
  | { strategy: 'image'; image: string; podConfig?: string; where: 'decided' | 'possible' | 'holders'; noDeadline?: true }
  /** Ask every backend, merge the answers. */
  | { strategy: 'fanOut'; merge: Merge; narrow?: Narrow }
  /** Server-streaming list: merge every backend's stream; a backend without it is asked `fallback` instead. */
  | { strategy: 'streamMerge'; fallback: CriMethod; merge: Merge; narrow?: Narrow }
  /** Container events from every backend on one stream; any backend's stream breaking ends it. */
  | { strategy: 'events' }
  /** Sent to every backend and remembered, to replay to backends that (re)connect. */
  | { strategy: 'broadcast' };

export type CriMethod =
  // RuntimeService
  | 'Version' | 'RunPodSandbox' | 'StopPodSandbox' | 'RemovePodSandbox' | 'PodSandboxStatus' | 'ListPodSandbox'
  | 'StreamPodSandboxes' | 'CreateContainer' | 'StartContainer' | 'StopContainer' | 'RemoveContainer'
  | 'ListContainers' | 'StreamContainers' | 'ContainerStatus' | 'UpdateContainerResources' | 'ReopenContainerLog'
  | 'ExecSync' | 'Exec' | 'Attach' | 'PortForward' | 'ContainerStats' | 'ListContainerStats' | 'StreamContainerStats'
  | 'PodSandboxStats' | 'ListPodSandboxStats' | 'StreamPodSandboxStats' | 'UpdateRuntimeConfig' | 'Status'
  | 'CheckpointContainer' | 'CheckpointPod' | 'RestorePod' | 'GetContainerEvents' | 'ListMetricDescriptors'
  | 'ListPodSandboxMetrics' | 'StreamPodSandboxMetrics' | 'RuntimeConfig' | 'UpdatePodSandboxResources'
  // ImageService
  | 'ListImages' | 'StreamImages' | 'ImageStatus' | 'PullImage' | 'RemoveImage' | 'ImageFsInfo';

const sandbox = (extra: Partial<Extract<Row, { strategy: 'byId' }>> = {}): Row => ({ strategy: 'byId', owner: 'sandbox', id: 'pod_sandbox_id', ...extra });
const container = (extra: Partial<Extract<Row, { strategy: 'byId' }>> = {}): Row => ({ strategy: 'byId', owner: 'container', id: 'container_id', ...extra });
const concat: Merge = { by: 'concat' };
const images: Merge = { by: 'unique', lists: ['images'], key: 'id' };
const podFilter: Narrow = { sandboxId: 'filter.id' };
const containerFilter: Narrow = { containerId: 'filter.id', sandboxId: 'filter.pod_sandbox_id' };
const imageFilter: Narrow = { handler: 'filter.image.runtime_handler' };

export const METHOD_TABLE = {
  Version: { strategy: 'node', answer: 'version' },
  Status: { strategy: 'node', answer: 'status' },
  RuntimeConfig: { strategy: 'node', answer: 'runtimeConfig' },
  UpdateRuntimeConfig: { strategy: 'broadcast' },

  RunPodSandbox: { strategy: 'newPod', podConfig: 'config', handler: 'runtime_handler', createsSandbox: 'pod_sandbox_id' },
  RestorePod: {
    strategy: 'newPod', podConfig: 'config', handler: 'runtime_handler', createsSandbox: 'pod_sandbox_id',
    createsContainers: { list: 'restored_containers', id: 'container_id' },
  },
  StopPodSandbox: sandbox({ idempotent: true }),
  RemovePodSandbox: sandbox({ idempotent: true, forgets: true }),
  PodSandboxStatus: sandbox(),
  PodSandboxStats: sandbox(),
  PortForward: sandbox(),
  CheckpointPod: sandbox(),
  UpdatePodSandboxResources: sandbox(),
  CreateContainer: sandbox({ createsContainer: 'container_id' }),

  StartContainer: container(),
  StopContainer: container({ idempotent: true }),
  RemoveContainer: container({ idempotent: true, forgets: true }),
  ContainerStatus: container(),
  UpdateContainerResources: container(),
  ReopenContainerLog: container(),
  ExecSync: container({ foreverWhenZero: 'timeout' }),
  Exec: container(),
  Attach: container(),
  ContainerStats: container(),
  CheckpointContainer: container(),

  ListPodSandbox: { strategy: 'fanOut', merge: concat, narrow: podFilter },
  ListContainers: { strategy: 'fanOut', merge: concat, narrow: containerFilter },
  ListContainerStats: { strategy: 'fanOut', merge: concat, narrow: containerFilter },
  ListPodSandboxStats: { strategy: 'fanOut', merge: concat, narrow: podFilter },
  ListPodSandboxMetrics: { strategy: 'fanOut', merge: concat },
  ListMetricDescriptors: { strategy: 'fanOut', merge: { by: 'unique', lists: ['descriptors'], key: 'name' } },
  ListImages: { strategy: 'fanOut', merge: images, narrow: imageFilter },
  ImageFsInfo: {
    strategy: 'fanOut',
    merge: { by: 'unique', lists: ['image_filesystems', 'container_filesystems'], key: 'fs_id.mountpoint' },
  },

  StreamPodSandboxes: { strategy: 'streamMerge', fallback: 'ListPodSandbox', merge: concat, narrow: podFilter },
  StreamContainers: { strategy: 'streamMerge', fallback: 'ListContainers', merge: concat, narrow: containerFilter },
  StreamContainerStats: { strategy: 'streamMerge', fallback: 'ListContainerStats', merge: concat, narrow: containerFilter },
  StreamPodSandboxStats: { strategy: 'streamMerge', fallback: 'ListPodSandboxStats', merge: concat, narrow: podFilter },
  StreamPodSandboxMetrics: { strategy: 'streamMerge', fallback: 'ListPodSandboxMetrics', merge: concat },
  StreamImages: { strategy: 'streamMerge', fallback: 'ListImages', merge: images, narrow: imageFilter },
  GetContainerEvents: { strategy: 'events' },

  PullImage: { strategy: 'image', image: 'image', podConfig: 'sandbox_config', where: 'decided', noDeadline: true },
  ImageStatus: { strategy: 'image', image: 'image', where: 'possible' },
  RemoveImage: { strategy: 'image', image: 'image', where: 'holders' },
} as const satisfies Record<CriMethod, Row>;

/** RPCs that change state on a runtime; the audit policy and docs read this. */
export const MUTATING: ReadonlySet<CriMethod> = new Set<CriMethod>([
  'RunPodSandbox', 'StopPodSandbox', 'RemovePodSandbox', 'CreateContainer', 'StartContainer', 'StopContainer',
  'RemoveContainer', 'ExecSync', 'Exec', 'Attach', 'PortForward', 'PullImage', 'RemoveImage',
  'UpdateContainerResources', 'UpdatePodSandboxResources', 'CheckpointContainer', 'CheckpointPod', 'RestorePod',
  'UpdateRuntimeConfig', 'ReopenContainerLog',
]);

export function isCriMethod(name: string): name is CriMethod {
  return Object.prototype.hasOwnProperty.call(METHOD_TABLE, name);
}
