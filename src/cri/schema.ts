// The CRI v1 schema as the proxy sees it: protobufjs reflection over proto/, used to
// list the services' methods, to compile the method table's field names into wire
// numbers, and to decode the few messages the proxy must understand (rule input,
// Status aggregation, audit details). The hot path never re-encodes a forwarded message.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import protobuf from 'protobufjs';
import { MalformedMessageError } from './wire.js';

export const CRI_PACKAGE = 'runtime.v1';
export const SERVICES = ['RuntimeService', 'ImageService'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** Repo-relative location of the schema; works from src/ (tsx/vitest) and dist/src/. */
export function defaultProtoPath(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'proto', 'runtime', 'v1', 'api.proto');
    if (existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('cannot find proto/runtime/v1/api.proto next to the cri-mux installation');
}

export interface MethodInfo {
  service: ServiceName;
  name: string;
  /** gRPC path, e.g. /runtime.v1.RuntimeService/Version */
  path: string;
  requestType: protobuf.Type;
  responseType: protobuf.Type;
  serverStreaming: boolean;
}

export class CriSchema {
  readonly root: protobuf.Root;
  readonly methods: ReadonlyMap<string, MethodInfo>;

  constructor(protoPath: string = defaultProtoPath()) {
    this.root = new protobuf.Root();
    this.root.loadSync(protoPath, { keepCase: true });
    this.root.resolveAll();
    const methods = new Map<string, MethodInfo>();
    for (const service of SERVICES) {
      const svc = this.root.lookupService(`${CRI_PACKAGE}.${service}`);
      for (const m of svc.methodsArray) {
        m.resolve();
        if (m.requestStream) throw new Error(`${service}.${m.name}: client streaming is not part of CRI v1`);
        methods.set(m.name, {
          service,
          name: m.name,
          path: `/${CRI_PACKAGE}.${service}/${m.name}`,
          requestType: m.resolvedRequestType as protobuf.Type,
          responseType: m.resolvedResponseType as protobuf.Type,
          serverStreaming: Boolean(m.responseStream),
        });
      }
    }
    this.methods = methods;
  }

  type(name: string): protobuf.Type {
    return this.root.lookupType(`${CRI_PACKAGE}.${name}`);
  }

  method(name: string): MethodInfo {
    const m = this.methods.get(name);
    if (!m) throw new Error(`unknown CRI method ${name}`);
    return m;
  }

  /**
   * Compile a dotted field-name path ("filter.image.runtime_handler") against a
   * message type into wire field numbers. Throws when the path does not exist, so a
   * typo in the method table fails at start-up, not on the first call.
   */
  fieldPath(type: protobuf.Type, dotted: string): number[] {
    const numbers: number[] = [];
    let current: protobuf.Type | undefined = type;
    for (const part of dotted.split('.')) {
      if (!current) throw new Error(`${type.name}.${dotted}: ${part} is inside a scalar`);
      const field: protobuf.Field | undefined = current.fields[part];
      if (!field) throw new Error(`${type.name}.${dotted}: no field ${part} in ${current.name}`);
      field.resolve();
      numbers.push(field.id);
      current = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    }
    return numbers;
  }

  /** Decode for reading only (rule matching, audit). Never re-encode the result to forward it. */
  decode(typeName: string, bytes: Uint8Array): Record<string, unknown> {
    const t = this.type(typeName);
    let message: protobuf.Message;
    try {
      message = t.decode(bytes);
    } catch (err) {
      // Bytes from a client or a backend, not a bug here: callers turn this into a status.
      throw new MalformedMessageError(`${typeName}: ${err instanceof Error ? err.message : String(err)}`);
    }
    return t.toObject(message, { longs: String, enums: String, bytes: String, defaults: false }) as Record<string, unknown>;
  }

  encode(typeName: string, value: Record<string, unknown>): Buffer {
    const t = this.type(typeName);
    return Buffer.from(t.encode(t.fromObject(value)).finish());
  }
}
