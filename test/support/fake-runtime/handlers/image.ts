// ImageService RPCs: PullImage, ImageStatus, ListImages, RemoveImage, ImageFsInfo.
import { status } from '@grpc/grpc-js';
import type { DefaultHandler, FakeContext } from '../context.js';
import { toCRIImage, verboseInfo } from '../convert.js';
import { type DecodedMessage, rec, type ResponseMessage, str } from '../message.js';
import { findImage, type ImageRecord, imageIdFor, nowNanos, type FakeState } from '../state.js';
import { statusError } from '../status.js';

/** repository strips a tag or digest: `docker.io/library/busybox:1.36` → `docker.io/library/busybox`. */
function repository(name: string): string {
  const at = name.indexOf('@');
  if (at >= 0) return name.slice(0, at);
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(0, colon) : name;
}

/**
 * storeImage records an image as pulled. The id is derived from the name, so every fake holding
 * the same name reports the same id; pulling again is a no-op that keeps the first spec.
 */
export function storeImage(state: FakeState, name: string, spec: DecodedMessage): ImageRecord {
  const existing = findImage(state.images, name);
  if (existing !== undefined) return existing;
  const id = imageIdFor(name);
  const image: ImageRecord = {
    id,
    repo_tags: name.includes('@') ? [] : [name],
    repo_digests: [`${repository(name)}@${id}`],
    size: String(10_000_000 + parseInt(id.slice(7, 11), 16) * 1000),
    spec,
    pinned: false,
  };
  state.images.set(id, image);
  return image;
}

/** listImages applies an ImageFilter (image reference); shared with StreamImages. */
export function listImages(ctx: FakeContext, filter: DecodedMessage | undefined): ResponseMessage[] {
  const ref = str(rec(filter, 'image'), 'image');
  const wanted = ref === '' ? undefined : findImage(ctx.state.images, ref);
  if (ref !== '' && wanted === undefined) return [];
  return [...ctx.state.images.values()].filter((image) => wanted === undefined || image === wanted).map(toCRIImage);
}

function filesystem(ctx: FakeContext, usedBytes: number, inodes: number): ResponseMessage {
  return {
    timestamp: nowNanos(),
    fs_id: { mountpoint: `/var/lib/${ctx.options.name}` },
    used_bytes: { value: String(usedBytes) },
    inodes_used: { value: String(inodes) },
  };
}

export const imageHandlers = {
  PullImage(ctx, request) {
    const spec = rec(request, 'image') ?? {};
    const name = str(spec, 'image');
    if (name === '') throw statusError(status.INVALID_ARGUMENT, 'PullImage: image.image must not be empty');
    return { image_ref: storeImage(ctx.state, name, spec).id };
  },

  // An absent image is not an error: the CRI answers with image unset.
  ImageStatus(ctx, request) {
    const image = findImage(ctx.state.images, str(rec(request, 'image'), 'image'));
    if (image === undefined) return { image: null, info: {} };
    return { image: toCRIImage(image), info: verboseInfo(request, { runtime: ctx.options.name, id: image.id }) };
  },

  ListImages(ctx, request) {
    return { images: listImages(ctx, rec(request, 'filter')) };
  },

  // Idempotent per the CRI: removing an absent image succeeds.
  RemoveImage(ctx, request) {
    const image = findImage(ctx.state.images, str(rec(request, 'image'), 'image'));
    if (image !== undefined) ctx.state.images.delete(image.id);
    return {};
  },

  ImageFsInfo(ctx) {
    const imageBytes = [...ctx.state.images.values()].reduce((sum, image) => sum + Number(image.size), 0);
    return {
      image_filesystems: [filesystem(ctx, imageBytes, ctx.state.images.size * 100)],
      container_filesystems: [filesystem(ctx, ctx.state.containers.size * 4096, ctx.state.containers.size * 10)],
    };
  },
} satisfies Record<string, DefaultHandler>;
