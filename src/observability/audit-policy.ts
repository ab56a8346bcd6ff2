// How much the audit log records per method, like a Kubernetes audit policy:
//   None     — nothing
//   Metadata — who, what, where it went, which pod/container/image, outcome, duration
//   Request  — Metadata plus the decoded request, redacted (redact.ts)
// Default: the calls that change a runtime's state (table.ts MUTATING) at Metadata, reads
// at None; audit.levels in the config overrides per method.
import type { AuditLevel } from '../config/types.js';
import { MUTATING, isCriMethod } from '../cri/table.js';

export type AuditPolicy = (method: string) => AuditLevel;

export function defaultLevel(method: string): AuditLevel {
  return isCriMethod(method) && MUTATING.has(method) ? 'Metadata' : 'None';
}

export function auditPolicy(overrides: Readonly<Record<string, AuditLevel>>): AuditPolicy {
  const levels = new Map<string, AuditLevel>(Object.entries(overrides));
  return (method) => levels.get(method) ?? defaultLevel(method);
}
