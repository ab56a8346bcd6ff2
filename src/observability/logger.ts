// The process log: JSON lines on stderr (pino), quiet at info under normal traffic: no
// per-call lines; start-up summary, backend up/down, config and audit-log trouble only.
// Request bodies are never logged; redaction paths are a second line of defence.
import pino, { type DestinationStream, type Logger } from 'pino';
import { REDACTED } from './redact.js';

/** Keys that may hold secrets if a request fragment ever reaches a log call. */
export const PROCESS_LOG_REDACT_PATHS = ['*.auth', '*.password', '*.identity_token', '*.registry_token', '*.envs', '*.stdout', '*.stderr'];

/** `destination` defaults to stderr; tests pass their own to read every byte written. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      // 'service' names the process; child loggers add 'component' (no duplicate keys).
      base: { service: 'cri-mux' },
      redact: { paths: PROCESS_LOG_REDACT_PATHS, censor: REDACTED },
    },
    destination ?? pino.destination({ fd: 2, sync: false }),
  );
}
