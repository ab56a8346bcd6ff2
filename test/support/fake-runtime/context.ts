// Types shared by the fake's handlers and its server wiring.
import type { ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import type { EventHub } from './events.js';
import type { DecodedMessage } from './message.js';
import type { IncomingRequest, OutgoingResponse } from './schema.js';
import type { FakeState } from './state.js';

export interface FakeRuntimeOptions {
  /** Runtime name: Version.runtime_name, a runtime handler, metric and mountpoint names. */
  readonly name: string;
  /** Unix socket path to listen on (a stale socket file there is replaced). */
  readonly socketPath: string;
  /** RuntimeConfig's linux.cgroup_driver. Default SYSTEMD. */
  readonly cgroupDriver?: 'SYSTEMD' | 'CGROUPFS';
  /** RuntimeConfig answers UNIMPLEMENTED, as runtimes older than the RPC do. */
  readonly runtimeConfigUnimplemented?: boolean;
  /** Every Stream* list answers UNIMPLEMENTED, as runtimes without KEP-5825 do. */
  readonly streamsUnimplemented?: boolean;
  /** Image names present before the first call (as if pulled). */
  readonly images?: readonly string[];
  /** Schema to serve. Default: the project's proto/runtime/v1/api.proto. */
  readonly protoPath?: string;
}

/** The call as a handler sees it. */
export interface FakeCall {
  /** Short method name, e.g. `RunPodSandbox`. */
  readonly method: string;
  /** Incoming metadata, every value of every key (binary values base64). */
  readonly metadata: Record<string, string[]>;
  /** The client's deadline, undefined when it set none. */
  readonly deadline: Date | number | undefined;
  /** Aborts when the call ends early (client cancel, deadline, server stop). */
  readonly signal: AbortSignal;
  /** The grpc-js call itself, for what the above does not cover (e.g. sendMetadata). */
  readonly grpc: ServerUnaryCall<IncomingRequest, OutgoingResponse> | ServerWritableStream<IncomingRequest, OutgoingResponse>;
}

/**
 * What a handler answers: one message (object or raw bytes); for server-streaming methods also
 * a list of messages or an async iterable of them. Throw a `{ code, details }` to fail the call.
 */
export type HandlerReply = OutgoingResponse | readonly OutgoingResponse[] | AsyncIterable<OutgoingResponse>;

/** A test's override for one method (see FakeRuntime.setHandler). */
export type FakeHandler = (request: DecodedMessage, raw: Buffer, call: FakeCall) => HandlerReply | Promise<HandlerReply>;

/** What the built-in behaviour of a method works on. */
export interface FakeContext {
  readonly options: FakeRuntimeOptions;
  readonly state: FakeState;
  readonly events: EventHub;
}

export type DefaultHandler = (ctx: FakeContext, request: DecodedMessage, call: FakeCall) => HandlerReply;
