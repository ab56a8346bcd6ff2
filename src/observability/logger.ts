// The process log: JSON lines on stderr (pino), quiet at info under normal traffic.
// Request bodies are never logged; redaction paths are a second line of defence.
import pino, { type Logger } from 'pino';

export function createLogger(level: string): Logger {
  return pino(
    {
      level,
      base: { component: 'cri-mux' },
      redact: {
        paths: ['*.auth', '*.password', '*.identity_token', '*.registry_token', '*.envs', '*.stdout', '*.stderr'],
        censor: '[redacted]',
      },
    },
    pino.destination({ fd: 2, sync: false }),
  );
}
