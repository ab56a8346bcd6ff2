// Server-streaming RPCs. The Stream* lists reuse the unary lists' pieces and only differ in
// sending the items in batches (as containerd's SendInBatches); GetContainerEvents stays open.
import { status } from '@grpc/grpc-js';
import type { DefaultHandler, FakeContext } from '../context.js';
import { type DecodedMessage, rec, type ResponseMessage } from '../message.js';
import { statusError } from '../status.js';
import { listContainers } from './container.js';
import { listImages } from './image.js';
import { listSandboxes } from './sandbox.js';
import { listContainerStats, listSandboxMetrics, listSandboxStats } from './stats.js';

/** At most this many items per Stream* message: small, so tests see several messages. */
export const STREAM_BATCH_SIZE = 2;

/** inBatches splits items into messages of at most STREAM_BATCH_SIZE under `field`; no items, no message. */
export function inBatches(items: readonly ResponseMessage[], field: string): ResponseMessage[] {
  const batches: ResponseMessage[] = [];
  for (let i = 0; i < items.length; i += STREAM_BATCH_SIZE) {
    batches.push({ [field]: items.slice(i, i + STREAM_BATCH_SIZE) });
  }
  return batches;
}

const RUNTIME_SERVICE = 'runtime.v1.RuntimeService';
const IMAGE_SERVICE = 'runtime.v1.ImageService';

function streamed(
  service: string,
  method: string,
  field: string,
  list: (ctx: FakeContext, filter: DecodedMessage | undefined) => ResponseMessage[],
): DefaultHandler {
  return (ctx, request) => {
    if (ctx.options.streamsUnimplemented === true) {
      // What grpc-go answers for a method the runtime does not register; kubelet falls back on it.
      throw statusError(status.UNIMPLEMENTED, `unknown method ${method} for service ${service}`);
    }
    return inBatches(list(ctx, rec(request, 'filter')), field);
  };
}

export const streamHandlers = {
  StreamPodSandboxes: streamed(RUNTIME_SERVICE, 'StreamPodSandboxes', 'pod_sandboxes', listSandboxes),
  StreamContainers: streamed(RUNTIME_SERVICE, 'StreamContainers', 'containers', listContainers),
  StreamContainerStats: streamed(RUNTIME_SERVICE, 'StreamContainerStats', 'container_stats', listContainerStats),
  StreamPodSandboxStats: streamed(RUNTIME_SERVICE, 'StreamPodSandboxStats', 'pod_sandbox_stats', listSandboxStats),
  StreamPodSandboxMetrics: streamed(RUNTIME_SERVICE, 'StreamPodSandboxMetrics', 'pod_sandbox_metrics', (ctx) => listSandboxMetrics(ctx)),
  StreamImages: streamed(IMAGE_SERVICE, 'StreamImages', 'images', listImages),

  // Open until the client leaves or FakeRuntime.endEvents breaks it.
  GetContainerEvents(ctx, _request, call) {
    return ctx.events.subscribe(call.signal);
  },
} satisfies Record<string, DefaultHandler>;
