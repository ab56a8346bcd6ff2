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
    const raw = typeof e.details === 'string' ? e.details : err instanceof Error ? err.message : String(err);
    // grpc-js appends an empty "Resolution note: " to connection failures.
    const details = raw.replace(/\s*Resolution note:\s*$/, '');
    return new BackendError(backend, code, details, e.metadata instanceof Metadata ? e.metadata : new Metadata());
  }

  /** The backend could not be reached or gave up on the connection: it may still own the object. */
  get unreachable(): boolean {
    return this.code === Code.UNAVAILABLE;
  }
}

/** Trailer naming the CRIMUX_ERR_* of an error the proxy made (README "Errors"). */
export const ERROR_TRAILER = 'cri-mux-error';
/** Trailer naming the backend whose status is relayed. */
export const BACKEND_TRAILER = 'cri-mux-backend';

export function toStatus(err: unknown, fallbackMessage = 'cri-mux internal error'): StatusObject & { reason: string } {
  if (err instanceof BackendError) {
    const metadata = err.metadata.clone();
    metadata.set(BACKEND_TRAILER, err.backend);
    if (err.unreachable) {
      // The proxy could not reach the runtime: say which one, in the message a person reads.
      metadata.set(ERROR_TRAILER, 'CRIMUX_ERR_BACKEND_UNAVAILABLE');
      return { code: err.code, details: `backend ${err.backend} is unreachable (${err.details}); retry when it is back`, metadata, reason: 'CRIMUX_ERR_BACKEND_UNAVAILABLE' };
    }
    return { code: err.code, details: err.details, metadata, reason: `backend:${err.backend}` };
  }
  const proxyError = (reason: string, code: Code, details: string): StatusObject & { reason: string } => {
    const metadata = new Metadata();
    metadata.set(ERROR_TRAILER, reason);
    return { code, details, metadata, reason };
  };
  if (err instanceof ProxyError) return proxyError(err.reason, err.code, err.message);
  if (err instanceof MalformedMessageError) return proxyError('CRIMUX_ERR_MALFORMED_REQUEST', Code.INVALID_ARGUMENT, `malformed request: ${err.message}`);
  return proxyError('CRIMUX_ERR_INTERNAL', Code.INTERNAL, fallbackMessage);
}
