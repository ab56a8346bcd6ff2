// One real runtime behind the proxy: a grpc-js channel that carries raw bytes, plus the
// health state the rest of the proxy reads (up/down, since when, why).
import { EventEmitter } from 'node:events';
import {
  Client,
  Metadata,
  credentials,
  status as Code,
  type ClientReadableStream,
  type ServiceError,
} from '@grpc/grpc-js';
import type { BackendConfig } from '../config/types.js';
import { BackendError } from '../errors/status.js';

const identity = (b: Buffer): Buffer => b;

/** The arguments grpc-js takes for a call whose request and response stay bytes. */
function rawCall(path: string, request: Buffer, opts: CallOptions) {
  return [path, identity, identity, request, opts.metadata ?? new Metadata(), opts.deadline !== undefined ? { deadline: opts.deadline } : {}] as const;
}

/** Messages grpc-js itself makes when the socket fails (never text from the runtime). */
const TRANSPORT_FAILURE = /^(No connection established|Connection dropped|Failed to connect|Connection closed|read ECONNRESET|connect E[A-Z]+ )/;

export interface CallOptions {
  metadata?: Metadata;
  /** Absolute deadline (ms since epoch); undefined = none. */
  deadline?: number | undefined;
  signal?: AbortSignal | undefined;
}

export type Health = 'unknown' | 'up' | 'down';

/** One finished call to this backend, for per-backend metrics. */
export interface BackendCallEvent {
  path: string;
  code: Code;
  seconds: number;
}

export interface BackendEvents {
  up: [];
  down: [reason: string];
  call: [event: BackendCallEvent];
}

export class Backend extends EventEmitter<BackendEvents> {
  readonly name: string;
  private readonly client: Client;
  health: Health = 'unknown';
  /** When the current state began (ms since epoch). */
  since = Date.now();
  lastError = '';
  /** Version the backend reported when last probed, for Status info and the start-up log. */
  version = '';
  /** Set when it came up reporting another cgroup driver than the node's runtimes: no new pods go there. */
  cgroupMismatch: string | undefined;

  constructor(
    readonly config: BackendConfig,
    maxMessageBytes: number,
  ) {
    super();
    this.name = config.name;
    this.client = new Client(`unix://${config.socketPath}`, credentials.createInsecure(), {
      'grpc.max_receive_message_length': maxMessageBytes,
      'grpc.max_send_message_length': maxMessageBytes,
      // Runtimes come back after restarts; retry the connection quickly but bounded.
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 3000,
      'grpc.enable_retries': 0,
    });
  }

  unary(path: string, request: Buffer, opts: CallOptions = {}): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      if (opts.signal?.aborted) return reject(new BackendError(this.name, Code.CANCELLED, 'cancelled by the client', new Metadata()));
      const started = performance.now();
      const call = this.client.makeUnaryRequest(
        ...rawCall(path, request, opts),
        (err: ServiceError | null, response?: Buffer) => {
          opts.signal?.removeEventListener('abort', onAbort);
          const seconds = (performance.now() - started) / 1000;
          if (err) {
            let e = BackendError.from(this.name, err);
            // CANCELLED that the client did not ask for is the backend (or its connection)
            // going away mid-call: to the caller that is the runtime being unavailable.
            if (e.code === Code.CANCELLED && !opts.signal?.aborted) e = new BackendError(this.name, Code.UNAVAILABLE, e.details, e.metadata);
            this.emit('call', { path, code: e.code, seconds });
            this.observe(e, path, request);
            reject(e);
          } else {
            this.emit('call', { path, code: Code.OK, seconds });
            this.markUp();
            resolve(response ?? Buffer.alloc(0));
          }
        },
      );
      const onAbort = (): void => call.cancel();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  serverStream(path: string, request: Buffer, opts: CallOptions = {}): ClientReadableStream<Buffer> {
    const started = performance.now();
    const call = this.client.makeServerStreamRequest(...rawCall(path, request, opts));
    const onAbort = (): void => call.cancel();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    call.once('close', () => opts.signal?.removeEventListener('abort', onAbort));
    call.on('error', (err: ServiceError) => this.observe(BackendError.from(this.name, err), path, request));
    call.once('data', () => this.markUp());
    call.once('status', (s: { code: Code }) => this.emit('call', { path, code: s.code, seconds: (performance.now() - started) / 1000 }));
    return call;
  }

  /**
   * Feed a call's failure into health: a transport failure means down. The reason is logged,
   * shown in Status info and /readyz; the message of a call that carried a request may echo
   * it (a registry password, an env value), so only a request-less call's message is kept.
   */
  observe(err: BackendError, path: string, request: Buffer): void {
    if (!err.unreachable) return;
    // grpc-js's own connection failures say nothing of the request: keep those.
    if (request.length === 0 || TRANSPORT_FAILURE.test(err.details)) return this.markDown(err.details);
    // Keep the better reason a probe already gave, rather than the placeholder.
    if (this.health === 'down') return;
    const method = path.slice(path.lastIndexOf('/') + 1);
    this.markDown(`${method} answered UNAVAILABLE (its message is not kept: it may echo the request)`);
  }

  markUp(): void {
    if (this.health === 'up') return;
    this.health = 'up';
    this.since = Date.now();
    this.lastError = '';
    this.emit('up');
  }

  markDown(reason: string): void {
    this.lastError = reason;
    if (this.health === 'down') return;
    this.health = 'down';
    this.since = Date.now();
    this.emit('down', reason);
  }

  close(): void {
    this.client.close();
  }
}
