// FakeRuntime: a CRI v1 runtime in the test process, served by grpc-js on a real unix socket.
// State, journal and injected faults live on this object, not on the grpc server, so
// stop()/restart() behave like a runtime daemon going down and coming back.
import { existsSync, rmSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import type { FakeCall, FakeContext, FakeHandler, FakeRuntimeOptions, HandlerReply } from './context.js';
import { EventHub } from './events.js';
import { type CriMethod, defaultHandlers, isCriMethod } from './handlers/index.js';
import { storeImage } from './handlers/image.js';
import type { DecodedMessage, ResponseMessage } from './message.js';
import { type CriSchema, type IncomingRequest, loadCriSchema, type OutgoingResponse } from './schema.js';
import { createState, type FakeState } from './state.js';
import { type FakeStatus, statusError, toStatusObject } from './status.js';

/** One call as the fake received it. */
export interface JournalEntry {
  /** Arrival order across every fake in the process (to merge journals of several fakes). */
  readonly seq: number;
  /** The fake's name. */
  readonly runtime: string;
  readonly method: CriMethod;
  /** The request exactly as it arrived on the wire. */
  readonly raw: Buffer;
  readonly request: DecodedMessage;
  readonly metadata: Record<string, string[]>;
  readonly deadline: Date | number | undefined;
}

export interface FakeRuntime {
  readonly name: string;
  readonly socketPath: string;
  /** gRPC target for clients: `unix://<socketPath>`. */
  readonly address: string;
  /** Every call received, oldest first; clear it with `journal.length = 0` or journal.ts `take`. */
  readonly journal: JournalEntry[];
  readonly state: FakeState;
  /** Whether the socket is being served. */
  readonly running: boolean;
  /** Stops serving at once: open calls are cancelled, the socket goes away, state stays. */
  stop(): Promise<void>;
  /** Serves again on the same socket with the same state (stops first if running). */
  restart(): Promise<void>;
  /** Replaces a method's built-in behaviour until resetHandler. */
  setHandler(method: CriMethod, handler: FakeHandler): void;
  resetHandler(method: CriMethod): void;
  /** The next call of `method` fails with `status` (queued: call twice to fail two calls). */
  failNext(method: CriMethod, status: FakeStatus): void;
  /** Every later call of `method` waits `ms` first (0 removes the delay). */
  delay(method: CriMethod, ms: number): void;
  /** Ends every open GetContainerEvents stream with `status`. */
  endEvents(status: FakeStatus): void;
  /** Number of open GetContainerEvents streams. */
  eventSubscribers(): number;
  /** Resolves once at least `count` event streams are open (rejects after `timeoutMs`). */
  waitForEventSubscribers(count?: number, timeoutMs?: number): Promise<void>;
  /** Encodes `message` as `method`'s response type, e.g. to append unknown fields to it. */
  encodeResponse(method: CriMethod, message: ResponseMessage): Buffer;
}

/** startFakeRuntime creates a fake runtime and serves it on `options.socketPath`. */
export async function startFakeRuntime(options: FakeRuntimeOptions): Promise<FakeRuntime> {
  const fake = new Fake(options);
  await fake.listen();
  return fake;
}

const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
let journalSeq = 0;

class Fake implements FakeRuntime {
  readonly journal: JournalEntry[] = [];
  readonly state: FakeState = createState();
  readonly #options: FakeRuntimeOptions;
  readonly #schema: CriSchema;
  readonly #context: FakeContext;
  readonly #events = new EventHub();
  readonly #overrides = new Map<CriMethod, FakeHandler>();
  readonly #failures = new Map<CriMethod, FakeStatus[]>();
  readonly #delays = new Map<CriMethod, number>();
  readonly #openCalls = new Set<AbortController>();
  #server: grpc.Server | undefined;

  constructor(options: FakeRuntimeOptions) {
    this.#options = options;
    this.#schema = loadCriSchema(options.protoPath);
    checkCoverage(this.#schema);
    this.#context = { options, state: this.state, events: this.#events };
    for (const image of options.images ?? []) storeImage(this.state, image, { image });
  }

  get name(): string {
    return this.#options.name;
  }

  get socketPath(): string {
    return this.#options.socketPath;
  }

  get address(): string {
    return `unix://${this.#options.socketPath}`;
  }

  get running(): boolean {
    return this.#server !== undefined;
  }

  async listen(): Promise<void> {
    removeStaleSocket(this.socketPath);
    const server = new grpc.Server({
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    });
    for (const definition of this.#schema.serverDefinitions.values()) {
      server.addService(definition, this.#implementation(Object.keys(definition)));
    }
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(this.address, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    for (const call of this.#openCalls) call.abort();
    server.forceShutdown();
    // The listener closes asynchronously; wait for its socket file so "down" is observable.
    for (let i = 0; i < 100 && existsSync(this.socketPath); i++) await sleep(10);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.listen();
  }

  setHandler(method: CriMethod, handler: FakeHandler): void {
    this.#overrides.set(method, handler);
  }

  resetHandler(method: CriMethod): void {
    this.#overrides.delete(method);
  }

  failNext(method: CriMethod, status: FakeStatus): void {
    this.#failures.set(method, [...(this.#failures.get(method) ?? []), status]);
  }

  delay(method: CriMethod, ms: number): void {
    if (ms > 0) this.#delays.set(method, ms);
    else this.#delays.delete(method);
  }

  endEvents(status: FakeStatus): void {
    this.#events.fail(status);
  }

  eventSubscribers(): number {
    return this.#events.size;
  }

  async waitForEventSubscribers(count = 1, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#events.size < count) {
      if (Date.now() > deadline) {
        throw new Error(`${this.name}: ${this.#events.size} event streams open after ${timeoutMs} ms, wanted ${count}`);
      }
      await sleep(5);
    }
  }

  encodeResponse(method: CriMethod, message: ResponseMessage): Buffer {
    const info = this.#schema.methods.get(method);
    if (info === undefined) throw new Error(`no method ${method} in schema`);
    return info.loaded.responseSerialize(message);
  }

  #implementation(methods: readonly string[]): grpc.UntypedServiceImplementation {
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const method of methods) {
      if (!isCriMethod(method)) continue; // unreachable: checkCoverage ran in the constructor
      const unary: grpc.handleUnaryCall<IncomingRequest, OutgoingResponse> = (call, callback) =>
        void this.#serveUnary(method, call, callback);
      const stream: grpc.handleServerStreamingCall<IncomingRequest, OutgoingResponse> = (call) =>
        void this.#serveStream(method, call);
      implementation[method] = this.#schema.methods.get(method)?.responseStream === true ? stream : unary;
    }
    return implementation;
  }

  async #serveUnary(
    method: CriMethod,
    call: grpc.ServerUnaryCall<IncomingRequest, OutgoingResponse>,
    callback: grpc.sendUnaryData<OutgoingResponse>,
  ): Promise<void> {
    const fakeCall = this.#begin(method, call);
    try {
      const reply = await this.#reply(method, call.request, fakeCall);
      if (isList(reply) || isStream(reply)) throw statusError(grpc.status.INTERNAL, `handler for unary ${method} returned a stream`);
      callback(null, reply);
    } catch (err) {
      callback(toStatusObject(err));
    } finally {
      this.#openCalls.delete(fakeCall.controller);
    }
  }

  async #serveStream(method: CriMethod, call: grpc.ServerWritableStream<IncomingRequest, OutgoingResponse>): Promise<void> {
    const fakeCall = this.#begin(method, call);
    try {
      const reply = await this.#reply(method, call.request, fakeCall);
      const messages: Iterable<OutgoingResponse> | AsyncIterable<OutgoingResponse> = isList(reply) || isStream(reply) ? reply : [reply];
      for await (const message of messages) {
        if (call.cancelled) return;
        call.write(message);
      }
      if (!call.cancelled) call.end();
    } catch (err) {
      if (!call.cancelled) call.emit('error', toStatusObject(err));
    } finally {
      this.#openCalls.delete(fakeCall.controller);
    }
  }

  /** #begin journals the call and gives it an abort signal tied to its cancellation. */
  #begin(
    method: CriMethod,
    call: grpc.ServerUnaryCall<IncomingRequest, OutgoingResponse> | grpc.ServerWritableStream<IncomingRequest, OutgoingResponse>,
  ): FakeCall & { readonly controller: AbortController } {
    const controller = new AbortController();
    call.on('cancelled', () => controller.abort());
    this.#openCalls.add(controller);
    const rawDeadline = call.getDeadline();
    const deadline = rawDeadline === Infinity ? undefined : rawDeadline;
    const metadata = metadataRecord(call.metadata);
    const { raw, request } = call.request;
    this.journal.push({ seq: ++journalSeq, runtime: this.name, method, raw, request, metadata, deadline });
    return { method, metadata, deadline, signal: controller.signal, grpc: call, controller };
  }

  /** #reply applies injected faults, then the test's override or the built-in behaviour. */
  async #reply(method: CriMethod, incoming: IncomingRequest, call: FakeCall): Promise<HandlerReply> {
    const failure = this.#failures.get(method)?.shift();
    const delayMs = this.#delays.get(method) ?? 0;
    if (delayMs > 0) await sleep(delayMs, undefined, { signal: call.signal }).catch(() => undefined);
    if (failure !== undefined) throw failure;
    const override = this.#overrides.get(method);
    if (override !== undefined) return override(incoming.request, incoming.raw, call);
    return defaultHandlers[method](this.#context, incoming.request, call);
  }
}

function isList(reply: HandlerReply): reply is readonly OutgoingResponse[] {
  return Array.isArray(reply);
}

function isStream(reply: HandlerReply): reply is AsyncIterable<OutgoingResponse> {
  return !Buffer.isBuffer(reply) && Symbol.asyncIterator in reply;
}

function metadataRecord(metadata: grpc.Metadata): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [key, values] of Object.entries(metadata.toJSON())) {
    out[key] = values.map((v) => (Buffer.isBuffer(v) ? v.toString('base64') : v));
  }
  return out;
}

/** checkCoverage fails fast when the proto and the fake's table disagree on the method list. */
function checkCoverage(schema: CriSchema): void {
  const missing = [...schema.methods.keys()].filter((m) => !isCriMethod(m));
  const extra = Object.keys(defaultHandlers).filter((m) => !schema.methods.has(m));
  if (missing.length > 0 || extra.length > 0) {
    throw new Error(`fake runtime out of date: no behaviour for [${missing.join(', ')}]; not in schema: [${extra.join(', ')}]`);
  }
}

/** removeStaleSocket deletes a socket file left by a previous server (never a regular file). */
function removeStaleSocket(path: string): void {
  if (existsSync(path) && statSync(path).isSocket()) rmSync(path);
}
