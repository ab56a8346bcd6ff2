// The Stream* list RPCs: every backend's stream is relayed message by message (each
// message holds whole items), EOF once all are done. A backend without the RPC is asked
// the unary List it mirrors — same request bytes, and its answer is a valid stream
// message (plan.ts checks the wire compatibility) — so kubelet's streaming gate works
// over an older runtime too. The stale/optional policy is the unary lists' own.
import { status as Code, type StatusObject } from '@grpc/grpc-js';
import type { Backend } from '../backends/backend.js';
import { ProxyError } from '../errors/catalogue.js';
import { BackendError } from '../errors/status.js';
import type { CallContext } from '../server/call-context.js';
import type { ProxyDeps, StreamStrategy } from './deps.js';
import { standIn, targetsFor } from './fan-out.js';
import { mergeAnswers, type SeenKeys } from './merge.js';

type Contribution = 'sent' | 'unimplemented' | 'skipped';

export const streamMerge: StreamStrategy = async (deps, ctx, request, send) => {
  const plan = ctx.plan;
  const targets = targetsFor(deps, plan, request, ctx);
  const seen: SeenKeys = new Map();
  const relay = async (bytes: Buffer): Promise<void> => {
    const merged = mergeAnswers([bytes], plan.merge!, seen);
    if (merged.length > 0) await send(merged);
  };
  const results = await Promise.all(targets.map((b) => streamOne(deps, ctx, b, request, relay)));
  if (results.every((r) => r === 'unimplemented')) {
    throw new ProxyError('CRIMUX_ERR_UNIMPLEMENTED', `${plan.name} is not implemented by any backend`);
  }
};

function streamOne(deps: ProxyDeps, ctx: CallContext, backend: Backend, request: Buffer, relay: (b: Buffer) => Promise<void>): Promise<Contribution> {
  const { info, fallback } = ctx.plan;
  ctx.sentTo(backend.name);
  return new Promise<Contribution>((resolve, reject) => {
    const call = backend.serverStream(info.path, request, ctx.optionsFor(backend));
    const received: Buffer[] = [];
    call.on('data', (message: Buffer) => {
      received.push(message);
      call.pause();
      relay(message).then(
        () => call.resume(),
        (err: unknown) => {
          call.cancel();
          reject(err);
        },
      );
    });
    // grpc-js ends the stream ('end') for every status, errors included: only the
    // status says how it ended.
    call.on('error', () => undefined);
    call.on('status', (status: StatusObject) => {
      if (status.code === Code.OK) {
        deps.lastAnswers.put(backend.name, fallback!.name, request, Buffer.concat(received));
        return resolve('sent');
      }
      const e = BackendError.from(backend.name, status);
      if (received.length > 0 || (!e.unreachable && e.code !== Code.UNIMPLEMENTED)) return reject(e);
      const done = e.code === Code.UNIMPLEMENTED ? viaUnaryList(deps, ctx, backend, request, relay) : fromMemory(deps, ctx, backend, request, relay, e);
      done.then(resolve, reject);
    });
  });
}

async function viaUnaryList(deps: ProxyDeps, ctx: CallContext, backend: Backend, request: Buffer, relay: (b: Buffer) => Promise<void>): Promise<Contribution> {
  const fallback = ctx.plan.fallback!;
  let bytes: Buffer;
  try {
    bytes = await backend.unary(fallback.path, request, ctx.optionsFor(backend));
  } catch (err) {
    const e = BackendError.from(backend.name, err);
    if (e.code === Code.UNIMPLEMENTED) return 'unimplemented';
    if (!e.unreachable) throw e;
    return fromMemory(deps, ctx, backend, request, relay, e);
  }
  deps.lastAnswers.put(backend.name, fallback.name, request, bytes);
  await relay(bytes);
  return 'sent';
}

async function fromMemory(deps: ProxyDeps, ctx: CallContext, backend: Backend, request: Buffer, relay: (b: Buffer) => Promise<void>, e: BackendError): Promise<Contribution> {
  const last = standIn(deps, ctx, ctx.plan.fallback!, request, backend, e);
  if (last === 'skipped') return 'skipped';
  await relay(last);
  return 'sent';
}
