// Who called, as far as the socket tells.
//
// On Linux the kernel knows the peer of a unix socket (SO_PEERCRED: pid, uid, gid), but
// Node exposes neither getsockopt() nor netlink sock_diag without a native addon,
// /proc/net/unix lists no peers, and grpc-js neither hands the socket to a handler nor
// reports more than "unknown" as the peer of a unix-socket call. Reaching it anyway would
// mean private grpc-js internals plus a subprocess (ss -xp) per connection, racing pid
// reuse: not something an audit log should claim as fact. So uid and pid are recorded as
// "unknown"; who may connect at all is decided by the socket's mode (listen.mode). The
// user-agent is recorded for what it is: a string the client chose.
import type { CallContext } from '../server/call-context.js';

export interface Caller {
  uid: string;
  pid: string;
  /** grpc-js's peer string ("unknown" for a unix socket). */
  peer: string;
  /** Client-supplied, unverified. */
  userAgent: string;
}

export function callerOf(ctx: CallContext): Caller {
  return { uid: 'unknown', pid: 'unknown', peer: ctx.peer || 'unknown', userAgent: ctx.userAgent };
}
