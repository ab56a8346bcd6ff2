// The one place cross-cutting work hooks into every call (metrics, audit): a call is
// begun, served by its strategy, and ended exactly once with its outcome.
import type { status as Code } from '@grpc/grpc-js';
import type { CallContext } from './call-context.js';

export interface Outcome {
  code: Code;
  details: string;
  /** CRIMUX_ERR_* name, `backend:<name>` for a relayed backend status, or OK. */
  reason: string;
  seconds: number;
}

export interface CallObserver {
  /** Before the strategy runs; throwing refuses the call with that error (audit failClosed). */
  begin?(ctx: CallContext, request: Buffer): void;
  /** For server streams: one message went to the client. */
  message?(ctx: CallContext, bytes: Buffer): void;
  end(ctx: CallContext, outcome: Outcome, response: Buffer | undefined): void;
}
