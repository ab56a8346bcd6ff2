// GetContainerEvents: one upstream stream per backend, shared by every subscriber (a
// runtime that splits events between its subscribers, containerd #7318, then sees one).
// If any backend's stream breaks, every subscriber's stream ends with an error so kubelet
// relists: a stream that silently stopped carrying one runtime's events would hide
// container deaths. A subscriber that cannot keep up is cut off rather than buffered forever.
import { status as Code, type ClientReadableStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { BackendPool } from '../backends/pool.js';
import { ProxyError } from '../errors/catalogue.js';
import { BackendError } from '../errors/status.js';
import type { StreamStrategy } from './deps.js';

const PATH = '/runtime.v1.RuntimeService/GetContainerEvents';
/** Events a subscriber may have in flight before it counts as stuck (cri-resmgr uses 128). */
const MAX_PENDING = 128;

interface Subscriber {
  send(message: Buffer): Promise<void>;
  pending: number;
  finish(err?: Error): void;
}

export class EventHub {
  private readonly subscribers = new Set<Subscriber>();
  private upstreams = new Map<string, ClientReadableStream<Buffer>>();
  private unimplemented = new Set<string>();
  /** Optional backends left out of the current streams because they were down. */
  private leftOut = new Set<string>();
  /** Upstream streams opened since start (a reconnect count for metrics). */
  opened = 0;

  constructor(
    private readonly pool: BackendPool,
    private readonly log: Logger,
  ) {
    // An optional backend that was down when the streams opened carries no events in them;
    // once it is back, the open streams would silently miss its container deaths. End
    // them so kubelet relists and subscribes again, this time with that backend in.
    for (const backend of pool.all) {
      backend.on('up', () => {
        if (!this.leftOut.has(backend.name)) return;
        this.breakAll(new ProxyError('CRIMUX_ERR_BACKEND_UNAVAILABLE', `backend ${backend.name} is back and its container events were not in this stream; relist and subscribe again`));
      });
    }
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Resolves when the subscriber leaves, rejects when the hub ends its stream. */
  subscribe(send: (message: Buffer) => Promise<void>, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const sub: Subscriber = {
        send,
        pending: 0,
        finish: (err) => {
          if (!this.subscribers.delete(sub)) return;
          signal.removeEventListener('abort', onAbort);
          if (this.subscribers.size === 0) this.closeUpstreams();
          if (err) reject(err);
          else resolve();
        },
      };
      const onAbort = (): void => sub.finish();
      signal.addEventListener('abort', onAbort, { once: true });
      this.subscribers.add(sub);
      if (this.upstreams.size === 0) this.openUpstreams();
    });
  }

  private openUpstreams(): void {
    this.unimplemented.clear();
    this.leftOut.clear();
    for (const backend of this.pool.all) {
      const call = backend.serverStream(PATH, Buffer.alloc(0));
      this.opened++;
      this.upstreams.set(backend.name, call);
      let received = false;
      call.on('data', (event: Buffer) => {
        received = true;
        this.fanIn(event);
      });
      call.on('error', (err: unknown) => {
        if (this.upstreams.get(backend.name) !== call) return; // closed by us
        const e = BackendError.from(backend.name, err);
        if (e.code === Code.CANCELLED) return;
        if (!received && e.code === Code.UNIMPLEMENTED) return this.noEventsFrom(backend.name);
        if (!received && e.unreachable && backend.config.optional) {
          this.log.warn({ backend: backend.name }, 'optional backend is down; container events proceed without it');
          this.leftOut.add(backend.name);
          return this.noEventsFrom(backend.name);
        }
        this.breakAll(new ProxyError('CRIMUX_ERR_BACKEND_UNAVAILABLE', `container event stream from backend ${backend.name} broke (${e.details}); relist and subscribe again`));
      });
      call.on('end', () => {
        if (this.upstreams.get(backend.name) !== call) return;
        this.breakAll(new ProxyError('CRIMUX_ERR_BACKEND_UNAVAILABLE', `backend ${backend.name} ended its container event stream; relist and subscribe again`));
      });
    }
  }

  private noEventsFrom(backend: string): void {
    this.unimplemented.add(backend);
    this.upstreams.delete(backend);
    if (this.upstreams.size === 0) {
      this.breakAll(new ProxyError('CRIMUX_ERR_UNIMPLEMENTED', 'no backend serves GetContainerEvents'));
    }
  }

  private fanIn(event: Buffer): void {
    for (const sub of [...this.subscribers]) {
      if (sub.pending >= MAX_PENDING) {
        sub.finish(new ProxyError('CRIMUX_ERR_SLOW_CONSUMER', `this subscriber fell ${MAX_PENDING} container events behind; relist and subscribe again`));
        continue;
      }
      sub.pending++;
      sub.send(event).then(
        () => sub.pending--,
        (err: unknown) => sub.finish(err instanceof Error ? err : new Error(String(err))),
      );
    }
  }

  private breakAll(err: Error): void {
    // No backend serving events at all (containerd 1.6) is a fact, not an incident.
    const level = err instanceof ProxyError && err.reason === 'CRIMUX_ERR_UNIMPLEMENTED' ? 'debug' : 'warn';
    if (this.subscribers.size > 0) this.log[level]({ err: err.message, subscribers: this.subscribers.size }, 'ending container event streams');
    this.closeUpstreams();
    for (const sub of [...this.subscribers]) sub.finish(err);
  }

  private closeUpstreams(): void {
    const calls = [...this.upstreams.values()];
    this.upstreams = new Map();
    this.leftOut.clear();
    for (const call of calls) call.cancel();
  }

  close(): void {
    this.breakAll(new ProxyError('CRIMUX_ERR_BACKEND_UNAVAILABLE', 'cri-mux is shutting down'));
  }
}

export const events: StreamStrategy = async (deps, ctx, _request, send) => {
  ctx.route.reason = 'fan-out';
  for (const b of deps.pool.all) ctx.sentTo(b.name);
  await deps.events.subscribe(send, ctx.signal);
};
