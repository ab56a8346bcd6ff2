// The gRPC server: both CRI services registered from the schema with byte-for-byte
// (identity) serializers, each method bound to its strategy through one wrapper that
// builds the call context, runs observers and turns any failure into a status.
import {
  Server,
  ServerCredentials,
  status as Code,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
  type MethodDefinition,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { MethodPlan } from '../cri/plan.js';
import { toStatus } from '../errors/status.js';
import { byId } from '../strategies/by-id.js';
import { broadcast } from '../strategies/broadcast.js';
import type { ProxyDeps, StreamStrategy, UnaryStrategy } from '../strategies/deps.js';
import { events } from '../strategies/events.js';
import { fanOut } from '../strategies/fan-out.js';
import { image } from '../strategies/image.js';
import { newPod } from '../strategies/new-pod.js';
import { runtimeConfig, status, version } from '../strategies/node.js';
import { streamMerge } from '../strategies/stream-merge.js';
import { CallContext } from './call-context.js';
import type { CallObserver, Outcome } from './observer.js';

const identity = (b: Buffer): Buffer => b;

function unaryStrategy(plan: MethodPlan): UnaryStrategy {
  const row = plan.row;
  switch (row.strategy) {
    case 'node':
      return { version, status, runtimeConfig }[row.answer];
    case 'newPod':
      return newPod;
    case 'byId':
      return byId;
    case 'image':
      return image;
    case 'fanOut':
      return fanOut;
    case 'broadcast':
      return broadcast;
    case 'streamMerge':
    case 'events':
      throw new Error(`${plan.name} is a stream`);
  }
}

function streamStrategy(plan: MethodPlan): StreamStrategy {
  if (plan.row.strategy === 'events') return events;
  if (plan.row.strategy === 'streamMerge') return streamMerge;
  throw new Error(`${plan.name} is not a stream`);
}

export class CriServer {
  private readonly server: Server;

  constructor(
    private readonly deps: ProxyDeps,
    private readonly observers: readonly CallObserver[],
  ) {
    this.server = new Server({
      'grpc.max_receive_message_length': deps.config.maxMessageBytes,
      'grpc.max_send_message_length': deps.config.maxMessageBytes,
    });
    for (const service of ['RuntimeService', 'ImageService'] as const) {
      const definition: Record<string, MethodDefinition<Buffer, Buffer>> = {};
      const impl: UntypedServiceImplementation = {};
      for (const plan of deps.table.plans.values()) {
        if (plan.info.service !== service) continue;
        definition[plan.name] = {
          path: plan.info.path,
          requestStream: false,
          responseStream: plan.info.serverStreaming,
          requestSerialize: identity,
          requestDeserialize: identity,
          responseSerialize: identity,
          responseDeserialize: identity,
          originalName: plan.name,
        };
        impl[plan.name] = plan.info.serverStreaming ? this.streamHandler(plan) : this.unaryHandler(plan);
      }
      // Methods without a row (none today) are simply not registered: grpc-js answers UNIMPLEMENTED.
      this.server.addService(definition as ServiceDefinition, impl);
    }
  }

  private context(plan: MethodPlan, call: ServerUnaryCall<Buffer, Buffer> | ServerWritableStream<Buffer, Buffer>): CallContext {
    const abort = new AbortController();
    call.once('cancelled', () => abort.abort());
    const d = call.getDeadline();
    const ms = d instanceof Date ? d.getTime() : d;
    return new CallContext(plan, call.metadata, Number.isFinite(ms) ? ms : undefined, abort.signal, call.getPeer());
  }

  private unaryHandler(plan: MethodPlan) {
    const strategy = unaryStrategy(plan);
    return (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>): void => {
      const ctx = this.context(plan, call);
      const run = async (): Promise<Buffer> => {
        this.begin(ctx, call.request);
        return strategy(this.deps, ctx, call.request);
      };
      run().then(
        (response) => {
          callback(null, response);
          this.end(ctx, undefined, response);
        },
        (err: unknown) => {
          const s = this.fail(ctx, err);
          callback({ code: s.code, details: s.details, metadata: s.metadata });
        },
      );
    };
  }

  private streamHandler(plan: MethodPlan) {
    const strategy = streamStrategy(plan);
    return (call: ServerWritableStream<Buffer, Buffer>): void => {
      const ctx = this.context(plan, call);
      const send = (message: Buffer): Promise<void> =>
        new Promise<void>((resolve) => {
          for (const o of this.observers) o.message?.(ctx, message);
          if (call.write(message)) resolve();
          else call.once('drain', () => resolve());
        });
      const run = async (): Promise<void> => {
        this.begin(ctx, call.request);
        await strategy(this.deps, ctx, call.request, send);
      };
      run().then(
        () => {
          call.end();
          this.end(ctx, undefined, undefined);
        },
        (err: unknown) => {
          const s = this.fail(ctx, err);
          call.emit('error', { code: s.code, details: s.details, metadata: s.metadata });
        },
      );
    };
  }

  private begin(ctx: CallContext, request: Buffer): void {
    for (const o of this.observers) o.begin?.(ctx, request);
  }

  private fail(ctx: CallContext, err: unknown): ReturnType<typeof toStatus> {
    const s = toStatus(err);
    // Only the proxy's own failures: a backend's INTERNAL is relayed, and its message may
    // echo the request (a password, an env value) — the audit log scrubs it, this log cannot.
    if (s.reason === 'CRIMUX_ERR_INTERNAL') this.deps.log.error({ err, method: ctx.plan.name, requestId: ctx.requestId }, 'call failed inside cri-mux');
    this.end(ctx, s, undefined);
    return s;
  }

  private end(ctx: CallContext, failure: { code: Code; details: string; reason: string } | undefined, response: Buffer | undefined): void {
    const outcome: Outcome = {
      code: failure?.code ?? Code.OK,
      details: failure?.details ?? '',
      reason: failure?.reason ?? 'OK',
      seconds: (performance.now() - ctx.started) / 1000,
    };
    for (const o of this.observers) {
      try {
        o.end(ctx, outcome, response);
      } catch (err) {
        this.deps.log.error({ err, method: ctx.plan.name }, 'call observer failed');
      }
    }
  }

  listen(socketPath: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.bindAsync(`unix://${socketPath}`, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Stop accepting calls, let in-flight unary calls finish for up to `graceMs`, then cut the rest. */
  async shutdown(graceMs: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      timer.unref();
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
