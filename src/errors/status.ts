// One translator from anything thrown inside a handler to the status the client gets.
import { Metadata, status as Code, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { MalformedMessageError } from '../cri/wire.js';
import { ProxyError } from './catalogue.js';

/** A status a backend answered with; relayed verbatim (code, message, trailers). */
export class BackendError extends Error {
  constructor(
    readonly backend: string,
    readonly code: Code,
    readonly details: string,
    readonly metadata: Metadata,
  ) {
    super(details);
  }

  static from(backend: string, err: unknown): BackendError {
    if (err instanceof BackendError) return err;
    const e = err as Partial<ServiceError>;
    const code = typeof e.code === 'number' ? e.code : Code.UNKNOWN;
    const details = typeof e.details === 'string' ? e.details : err instanceof Error ? err.message : String(err);
    return new BackendError(backend, code, details, e.metadata instanceof Metadata ? e.metadata : new Metadata());
  }

  /** The backend could not be reached or gave up on the connection: it may still own the object. */
  get unreachable(): boolean {
    return this.code === Code.UNAVAILABLE;
  }
}

export function toStatus(err: unknown, fallbackMessage = 'cri-mux internal error'): StatusObject & { reason: string } {
  if (err instanceof BackendError) {
    return { code: err.code, details: err.details, metadata: err.metadata, reason: `backend:${err.backend}` };
  }
  if (err instanceof ProxyError) {
    return { code: err.code, details: err.message, metadata: new Metadata(), reason: err.reason };
  }
  if (err instanceof MalformedMessageError) {
    return { code: Code.INVALID_ARGUMENT, details: `malformed request: ${err.message}`, metadata: new Metadata(), reason: 'CRIMUX_ERR_MALFORMED_REQUEST' };
  }
  return { code: Code.INTERNAL, details: fallbackMessage, metadata: new Metadata(), reason: 'CRIMUX_ERR_INTERNAL' };
}

export function codeName(code: number): string {
  return (Code as unknown as Record<number, string>)[code] ?? String(code);
}
