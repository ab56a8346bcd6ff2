// Loads the CRI services from the project's proto/ with proto-loader and rebuilds their
// grpc-js method definitions so the fake sees raw request bytes next to the decoded object,
// and may answer with raw bytes (to return fields the schema does not know).
import type { MethodDefinition as GrpcMethodDefinition, ServiceDefinition as GrpcServiceDefinition } from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { CRI_LOADER_OPTIONS, CRI_PROTO_PATH, loadCriDefinition } from '../cri-client.js';
import { type DecodedMessage, isRecord, type ResponseMessage } from './message.js';


const SERVICES = ['runtime.v1.RuntimeService', 'runtime.v1.ImageService'] as const;

/** What a fake handler receives: the exact bytes and what they decode to. */
export interface IncomingRequest {
  readonly raw: Buffer;
  readonly request: DecodedMessage;
}

/** What a fake handler may answer with: an object to encode, or bytes sent as they are. */
export type OutgoingResponse = ResponseMessage | Buffer;

export interface CriMethodInfo {
  /** Short proto name, e.g. `RunPodSandbox`. */
  readonly name: string;
  /** Fully-qualified service name, e.g. `runtime.v1.RuntimeService`. */
  readonly service: string;
  /** gRPC path, e.g. `/runtime.v1.RuntimeService/RunPodSandbox`. */
  readonly path: string;
  readonly responseStream: boolean;
  /** proto-loader's own definition (its serializers decode/encode objects). */
  readonly loaded: protoLoader.MethodDefinition<object, object>;
}

export interface CriSchema {
  /** Method short name → info; CRI v1 method names are unique across both services. */
  readonly methods: ReadonlyMap<string, CriMethodInfo>;
  /** Service name → grpc-js definition carrying raw bytes both ways (for `server.addService`). */
  readonly serverDefinitions: ReadonlyMap<string, GrpcServiceDefinition>;
}

const cache = new Map<string, CriSchema>();

/** loadCriSchema loads (once per path) the CRI services from a .proto file. */
export function loadCriSchema(protoPath: string = CRI_PROTO_PATH): CriSchema {
  const cached = cache.get(protoPath);
  if (cached !== undefined) return cached;
  // The test client's decoding (and, for the project's proto, its loaded copy), so a request
  // journaled here looks like the object the test sent.
  const pkg = protoPath === CRI_PROTO_PATH ? loadCriDefinition() : protoLoader.loadSync(protoPath, CRI_LOADER_OPTIONS);
  const methods = new Map<string, CriMethodInfo>();
  const serverDefinitions = new Map<string, GrpcServiceDefinition>();
  for (const service of SERVICES) {
    const definition = pkg[service];
    if (definition === undefined || 'format' in definition) throw new Error(`${protoPath} has no service ${service}`);
    const rawDefinition: Record<string, GrpcMethodDefinition<IncomingRequest, OutgoingResponse>> = {};
    for (const [name, loaded] of Object.entries(definition)) {
      if (methods.has(name)) throw new Error(`method name ${name} is not unique across CRI services`);
      methods.set(name, { name, service, path: loaded.path, responseStream: loaded.responseStream, loaded });
      rawDefinition[name] = rawMethodDefinition(loaded);
    }
    serverDefinitions.set(service, rawDefinition);
  }
  const schema: CriSchema = { methods, serverDefinitions };
  cache.set(protoPath, schema);
  return schema;
}

function rawMethodDefinition(
  loaded: protoLoader.MethodDefinition<object, object>,
): GrpcMethodDefinition<IncomingRequest, OutgoingResponse> {
  return {
    path: loaded.path,
    requestStream: loaded.requestStream,
    responseStream: loaded.responseStream,
    originalName: loaded.originalName,
    requestSerialize: (incoming) => incoming.raw,
    requestDeserialize: (raw) => ({ raw, request: decoded(loaded.requestDeserialize(raw)) }),
    responseSerialize: (outgoing) => (Buffer.isBuffer(outgoing) ? outgoing : loaded.responseSerialize(outgoing)),
    responseDeserialize: (raw) => raw,
  };
}

/** decoded narrows what proto-loader returns (`object`) to a field record. */
export function decoded(value: object): DecodedMessage {
  if (!isRecord(value)) throw new Error('proto-loader returned a non-message value');
  return value;
}
