// What every strategy is handed: the proxy's long-lived parts. Strategies are plain
// functions of (deps, call, request bytes); they never reach back into the server.
import type { Logger } from 'pino';
import type { BackendPool } from '../backends/pool.js';
import type { LastAnswers } from '../backends/last-answers.js';
import type { Ownership } from '../backends/ownership.js';
import type { RecentPods } from '../backends/recent-pods.js';
import type { Config } from '../config/types.js';
import type { CompiledTable } from '../cri/plan.js';
import type { CriSchema } from '../cri/schema.js';
import type { CallContext } from '../server/call-context.js';
import type { EventHub } from './events.js';
import type { RuntimeConfigMemory } from './broadcast.js';

export interface ProxyDeps {
  readonly config: Config;
  readonly schema: CriSchema;
  readonly table: CompiledTable;
  readonly pool: BackendPool;
  readonly ownership: Ownership;
  readonly recentPods: RecentPods;
  readonly lastAnswers: LastAnswers;
  readonly runtimeConfig: RuntimeConfigMemory;
  readonly events: EventHub;
  readonly log: Logger;
}

export type UnaryStrategy = (deps: ProxyDeps, ctx: CallContext, request: Buffer) => Promise<Buffer>;

/** `send` resolves when the client has taken the message (backpressure). */
export type StreamStrategy = (deps: ProxyDeps, ctx: CallContext, request: Buffer, send: (message: Buffer) => Promise<void>) => Promise<void>;
