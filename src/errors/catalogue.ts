// Every error the proxy itself produces, with its gRPC code. Backend errors are never
// re-made here: they travel as BackendError and reach the client with their own code,
// message and trailers (kubelet matches on both).
import { status as Code } from '@grpc/grpc-js';

export const CATALOGUE = {
  CRIMUX_ERR_MALFORMED_REQUEST: { code: Code.INVALID_ARGUMENT, what: 'the request bytes are not a valid message of the method\'s request type' },
  CRIMUX_ERR_MISSING_ID: { code: Code.INVALID_ARGUMENT, what: 'the request lacks the sandbox or container id the method is routed by' },
  CRIMUX_ERR_UNKNOWN_ID: { code: Code.NOT_FOUND, what: 'every backend answered that it does not know the id' },
  CRIMUX_ERR_AMBIGUOUS_ID: { code: Code.INVALID_ARGUMENT, what: 'an id prefix matches objects on more than one backend' },
  CRIMUX_ERR_BACKEND_UNAVAILABLE: { code: Code.UNAVAILABLE, what: 'a backend the answer depends on cannot be reached' },
  CRIMUX_ERR_UNKNOWN_BACKEND: { code: Code.INVALID_ARGUMENT, what: 'a pod annotation names a backend that is not configured' },
  CRIMUX_ERR_RUNTIME_DENIED: { code: Code.PERMISSION_DENIED, what: 'a pod annotation names a backend that routing.annotationBackends does not allow' },
  CRIMUX_ERR_BACKEND_MISCONFIGURED: { code: Code.FAILED_PRECONDITION, what: 'the chosen backend reports another cgroup driver than the node\'s other runtimes' },
  CRIMUX_ERR_UNIMPLEMENTED: { code: Code.UNIMPLEMENTED, what: 'no backend implements the method' },
  CRIMUX_ERR_SLOW_CONSUMER: { code: Code.RESOURCE_EXHAUSTED, what: 'a GetContainerEvents subscriber fell too far behind and was cut off' },
  CRIMUX_ERR_AUDIT_UNAVAILABLE: { code: Code.UNAVAILABLE, what: 'audit.failClosed is set and the audit log cannot be written' },
  CRIMUX_ERR_INTERNAL: { code: Code.INTERNAL, what: 'a bug in cri-mux; the process log has the details' },
} as const;

export type ErrorName = keyof typeof CATALOGUE;

/** An error made by the proxy; `message` is what the client reads, so it says what to do. */
export class ProxyError extends Error {
  readonly code: Code;
  constructor(
    readonly reason: ErrorName,
    message: string,
  ) {
    super(message);
    this.code = CATALOGUE[reason].code;
  }
}
