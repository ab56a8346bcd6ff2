// A small CRI v1 client for tests: talks to any CRI socket (a containerd instance or cri-mux)
// the way kubelet does, with promise-based helpers and the same decoding options everywhere.
//
// It loads proto/runtime/v1/api.proto with @grpc/proto-loader and drives a plain grpc.Client
// with the method definitions of RuntimeService and ImageService, so one channel serves both
// services (kubelet also uses one connection per socket).
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { findRepoRoot } from './repo-root.js';

const repoRoot = findRepoRoot(import.meta.url);

/** The schema the project ships; the tests speak exactly this. */
export const CRI_PROTO_PATH = join(repoRoot, 'proto', 'runtime', 'v1', 'api.proto');

/** The cri-o sample configs (crictl JSON form), vendored so the tests need nothing outside the repo. */
export const CRI_SAMPLES_DIR = join(repoRoot, 'test', 'fixtures', 'cri-samples');

/** Message size limit in both directions (kubelet accepts 16 MiB; we allow more, like cri-mux). */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** kubelet's default --runtime-request-timeout; the default deadline of `call` and `stream`. */
export const DEFAULT_DEADLINE_MS = 2 * 60 * 1000;

/**
 * Decoding options: snake_case field names as in the proto and in crictl's JSON, int64 as
 * strings (timestamps and sizes overflow JS numbers), enums as their names, every field present,
 * and the name of the set member of each oneof. `bytes` fields decode to Buffer.
 */
export const CRI_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

export type CriServiceName = 'RuntimeService' | 'ImageService';

/** A CRI message in proto-loader's object form (snake_case keys). */
export type CriMessage = Record<string, unknown>;

export interface CriCallOptions {
  /** Deadline relative to now; 0 or Infinity means no deadline (as kubelet does for PullImage). */
  deadlineMs?: number;
  /** Extra request metadata, e.g. { traceparent: '00-…' }. */
  metadata?: grpc.Metadata | Record<string, string | string[]>;
}

/** The gRPC error a failed call rejects with (`code` is a grpc.status value). */
export type CriError = grpc.ServiceError;

export const GrpcStatus = grpc.status;

type AnyMethodDefinition = protoLoader.MethodDefinition<object, object>;

let cachedDefinition: protoLoader.PackageDefinition | undefined;

/** The loaded CRI package definition (cached: parsing api.proto takes a while). */
export function loadCriDefinition(): protoLoader.PackageDefinition {
  cachedDefinition ??= protoLoader.loadSync(CRI_PROTO_PATH, CRI_LOADER_OPTIONS);
  return cachedDefinition;
}

/** The method definition of `runtime.v1.<service>/<method>`, or an Error naming what exists. */
export function criMethod(service: CriServiceName, method: string): AnyMethodDefinition {
  const def = loadCriDefinition()[`runtime.v1.${service}`];
  if (def === undefined || 'format' in def) {
    throw new Error(`runtime.v1.${service} is not a service in ${CRI_PROTO_PATH}`);
  }
  const methods = def as protoLoader.ServiceDefinition;
  const m = methods[method];
  if (m === undefined) {
    throw new Error(`runtime.v1.${service} has no method ${method}; known: ${Object.keys(methods).join(', ')}`);
  }
  return m as AnyMethodDefinition;
}

/** `unix:///path` for a socket path; anything that already has a scheme is left alone. */
export function toEndpoint(socketOrEndpoint: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(socketOrEndpoint)) return socketOrEndpoint;
  if (!isAbsolute(socketOrEndpoint)) throw new Error(`socket path must be absolute: ${socketOrEndpoint}`);
  return `unix://${socketOrEndpoint}`;
}

/** True if `err` is a gRPC error, optionally with the given status code. */
export function isCriError(err: unknown, code?: grpc.status): err is CriError {
  if (typeof err !== 'object' || err === null) return false;
  const c = (err as { code?: unknown }).code;
  if (typeof c !== 'number' || !('metadata' in err)) return false;
  return code === undefined || c === code;
}

function toMetadata(md: CriCallOptions['metadata']): grpc.Metadata {
  if (md instanceof grpc.Metadata) return md;
  const out = new grpc.Metadata();
  for (const [key, value] of Object.entries(md ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) out.add(key, v);
  }
  return out;
}

function toCallOptions(opts: CriCallOptions | undefined): grpc.CallOptions {
  const ms = opts?.deadlineMs ?? DEFAULT_DEADLINE_MS;
  return ms > 0 && Number.isFinite(ms) ? { deadline: Date.now() + ms } : {};
}

/** A CRI v1 client on one socket. Create with `new CriClient(pathOrEndpoint)`; `close()` when done. */
export class CriClient {
  readonly endpoint: string;
  private readonly client: grpc.Client;

  constructor(socketOrEndpoint: string, channelOptions: grpc.ChannelOptions = {}) {
    this.endpoint = toEndpoint(socketOrEndpoint);
    this.client = new grpc.Client(this.endpoint, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
      ...channelOptions,
    });
  }

  /** A unary call, e.g. `call('RuntimeService', 'Version', {})`. Rejects with a CriError. */
  call<Res = CriMessage>(
    service: CriServiceName,
    method: string,
    request: CriMessage = {},
    opts?: CriCallOptions,
  ): Promise<Res> {
    const def = criMethod(service, method);
    if (def.requestStream || def.responseStream) {
      return Promise.reject(new Error(`${service}/${method} is a streaming method: use stream()`));
    }
    return new Promise<Res>((resolve, reject) => {
      this.client.makeUnaryRequest<CriMessage, Res>(
        def.path,
        def.requestSerialize as (value: CriMessage) => Buffer,
        def.responseDeserialize as (value: Buffer) => Res,
        request,
        toMetadata(opts?.metadata),
        toCallOptions(opts),
        (err, value) => (err ? reject(err) : resolve(value as Res)),
      );
    });
  }

  /**
   * A server-streaming call run to its end (Stream* lists): resolves with every message once the
   * server closes the stream, rejects with the stream's error.
   */
  stream<Res = CriMessage>(
    service: CriServiceName,
    method: string,
    request: CriMessage = {},
    opts?: CriCallOptions,
  ): Promise<Res[]> {
    return new Promise<Res[]>((resolve, reject) => {
      const messages: Res[] = [];
      let s: grpc.ClientReadableStream<Res>;
      try {
        s = this.openStream<Res>(service, method, request, {
          ...opts,
          deadlineMs: opts?.deadlineMs ?? DEFAULT_DEADLINE_MS,
        });
      } catch (err) {
        reject(err);
        return;
      }
      s.on('data', (m: Res) => messages.push(m));
      s.on('error', reject);
      s.on('end', () => resolve(messages));
    });
  }

  /**
   * A server-streaming call left open (GetContainerEvents): the caller reads it and cancels it.
   * No deadline unless one is given, as kubelet does for the events stream.
   */
  openStream<Res = CriMessage>(
    service: CriServiceName,
    method: string,
    request: CriMessage = {},
    opts?: CriCallOptions,
  ): grpc.ClientReadableStream<Res> {
    const def = criMethod(service, method);
    if (def.requestStream || !def.responseStream) {
      throw new Error(`${service}/${method} is not a server-streaming method: use call()`);
    }
    return this.client.makeServerStreamRequest<CriMessage, Res>(
      def.path,
      def.requestSerialize as (value: CriMessage) => Buffer,
      def.responseDeserialize as (value: Buffer) => Res,
      request,
      toMetadata(opts?.metadata),
      toCallOptions({ ...opts, deadlineMs: opts?.deadlineMs ?? 0 }),
    );
  }

  /** Resolves once the channel is connected (the socket accepts), rejects after `timeoutMs`. */
  waitForReady(timeoutMs = 10_000): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.client.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(err) : resolve()));
    });
  }

  close(): void {
    this.client.close();
  }
}

// ---------------------------------------------------------------------------------------------
// cri-samples: the crictl JSON configs, adapted to this environment
// ---------------------------------------------------------------------------------------------

export interface AdaptOptions {
  /** Replaces every `image: { image }` reference (and user_specified_image). */
  image?: string;
  /** Deep-merged over the adapted sample (objects merge, everything else replaces). */
  overrides?: CriMessage;
}

/** Fields that do not work on the test hosts (no SELinux, no seccomp/AppArmor profiles, cgroupfs). */
const DROPPED_KEYS = new Set([
  'selinux_options',
  'cgroup_parent',
  'seccomp',
  'seccomp_profile_path',
  'apparmor',
  'apparmor_profile',
]);

function isPlainObject(v: unknown): v is CriMessage {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

/** Deep merge: plain objects merge key by key; arrays, Buffers and scalars replace. */
export function deepMerge(base: CriMessage, over: CriMessage): CriMessage {
  const out: CriMessage = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? deepMerge(b, v) : v;
  }
  return out;
}

function adaptValue(value: unknown, opts: AdaptOptions): unknown {
  if (Array.isArray(value)) return value.map((v) => adaptValue(v, opts));
  if (!isPlainObject(value)) return value;
  const out: CriMessage = {};
  for (const [key, v] of Object.entries(value)) {
    if (DROPPED_KEYS.has(key)) continue;
    if (key === 'annotations' && isPlainObject(v)) {
      // Profile annotations (seccomp/apparmor) name host profiles that do not exist here.
      out[key] = Object.fromEntries(Object.entries(v).filter(([k]) => !/seccomp|apparmor/i.test(k)));
    } else if (key === 'dns_config') {
      // The sample points pods at a public resolver; tests must not send traffic off the host.
      continue;
    } else if (key === 'envs' && Array.isArray(v)) {
      // KeyValue.value is `bytes` in the current schema; a JS string there would be read as base64.
      out[key] = v.map((kv: unknown) =>
        isPlainObject(kv) && typeof kv.value === 'string' ? { ...kv, value: Buffer.from(kv.value, 'utf8') } : kv,
      );
    } else if (key === 'image' && isPlainObject(v) && typeof v.image === 'string' && opts.image !== undefined) {
      out[key] = { ...v, image: opts.image, user_specified_image: opts.image };
    } else {
      out[key] = adaptValue(v, opts);
    }
  }
  return out;
}

/** Adapts a crictl sample config to the local environment (see AdaptOptions and DROPPED_KEYS). */
export function adaptCriSample(sample: CriMessage, opts: AdaptOptions = {}): CriMessage {
  const adapted = adaptValue(sample, opts) as CriMessage;
  return opts.overrides ? deepMerge(adapted, opts.overrides) : adapted;
}

/**
 * Loads a sample by file name from CRI_SAMPLES_DIR (or an absolute path) and adapts it, e.g.
 * `loadCriSample('sandbox_config.json', { overrides: { metadata: { uid: 'x' } } })`.
 */
export function loadCriSample(file: string, opts: AdaptOptions = {}): CriMessage {
  const path = isAbsolute(file) ? file : join(CRI_SAMPLES_DIR, file);
  const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (!isPlainObject(parsed)) throw new Error(`${path}: not a JSON object`);
  return adaptCriSample(parsed, opts);
}
