// What the routing rules look at, read from a request's PodSandboxConfig and ImageSpec.
import type { CriSchema } from '../cri/schema.js';
import { peekMessage } from '../cri/wire.js';
import type { Workload } from '../routing/decide.js';

type StringMap = Record<string, string>;

/** The PodSandboxConfig at `path` (metadata, labels, annotations), decoded for reading only. */
export function podWorkload(schema: CriSchema, request: Buffer, path: readonly number[], handler: string): Workload & { name: string; uid: string } {
  const bytes = peekMessage(request, path);
  const pod = bytes ? schema.decode('PodSandboxConfig', bytes) : {};
  const metadata = (pod['metadata'] ?? {}) as StringMap;
  return {
    handler,
    namespace: metadata['namespace'] ?? '',
    name: metadata['name'] ?? '',
    uid: metadata['uid'] ?? '',
    annotations: (pod['annotations'] ?? {}) as StringMap,
    labels: (pod['labels'] ?? {}) as StringMap,
  };
}

export interface ImageSpecView {
  image: string;
  handler: string;
  annotations: StringMap;
}

export function imageSpec(schema: CriSchema, request: Buffer, path: readonly number[]): ImageSpecView {
  const bytes = peekMessage(request, path);
  const spec = bytes ? schema.decode('ImageSpec', bytes) : {};
  return {
    image: (spec['image'] as string | undefined) ?? '',
    handler: (spec['runtime_handler'] as string | undefined) ?? '',
    annotations: (spec['annotations'] ?? {}) as StringMap,
  };
}
