// gRPC status errors a fake handler throws, and their translation for grpc-js.
import { Metadata, status, type StatusObject } from '@grpc/grpc-js';
import { isRecord } from './message.js';

/** A gRPC status to fail a call with: `{ code: status.NOT_FOUND, details: '…' }`. */
export interface FakeStatus {
  readonly code: status;
  readonly details?: string;
  readonly metadata?: Metadata;
}

/** FakeStatusError is what handlers throw to end a call with a given status. */
export class FakeStatusError extends Error implements FakeStatus {
  constructor(
    readonly code: status,
    readonly details: string,
    readonly metadata?: Metadata,
  ) {
    super(`${status[code] ?? code}: ${details}`);
    this.name = 'FakeStatusError';
  }
}

/** statusError builds the error a handler throws, e.g. `throw statusError(status.NOT_FOUND, 'no such pod')`. */
export function statusError(code: status, details: string): FakeStatusError {
  return new FakeStatusError(code, details);
}

/**
 * toStatusObject turns whatever a handler threw into the status the client receives: anything
 * with a numeric `code` keeps it (so tests may throw plain `{ code, details }` objects); other
 * throws become UNKNOWN with their message, as a real server would answer a crash.
 */
export function toStatusObject(err: unknown): StatusObject {
  if (isRecord(err) && typeof err['code'] === 'number') {
    const details = typeof err['details'] === 'string' ? err['details'] : err instanceof Error ? err.message : '';
    const metadata = err['metadata'] instanceof Metadata ? err['metadata'] : new Metadata();
    return { code: err['code'], details, metadata };
  }
  const details = err instanceof Error ? err.message : String(err);
  return { code: status.UNKNOWN, details, metadata: new Metadata() };
}
