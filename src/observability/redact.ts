// Redaction at the edge, driven by the schema: a decoded request is walked field by field
// against its protobuf type, and a value is replaced by "[redacted]" when
//   - its field carries `[debug_redact = true]` (PullImage auth today; any field the
//     upstream schema marks tomorrow is redacted without a code change),
//   - its field is `bytes` (opaque; KeyValue.value — environment variable values — is one),
//   - it is KeyValue.value whatever its type (env values, should the schema change again),
//   - it is a map value whose key matches audit.sensitiveKeys, ignoring case (annotations,
//     labels, options).
// The values taken out are returned too, so that a backend echoing one in an error message
// cannot smuggle it into the audit event (scrub()).
import protobuf from 'protobufjs';
import { anyGlob } from '../routing/glob.js';

export const REDACTED = '[redacted]';

/** Secrets shorter than this are not searched for in free text (they would mangle it). */
const MIN_SCRUB_LENGTH = 4;

export interface RedactOptions {
  /** Globs on map keys (annotation/label keys) whose values are never logged. */
  readonly sensitiveKeys: readonly string[];
}

/** A value taken out; bytes stay base64 until someone needs their text (scrub, rarely). */
export interface Secret {
  readonly text: string;
  readonly base64: boolean;
}

export interface Redacted {
  readonly value: Record<string, unknown>;
  /** The values that were replaced. */
  readonly secrets: readonly Secret[];
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

/** Redact a message decoded with CriSchema.decode (keepCase, bytes as base64 strings). */
export function redactMessage(type: protobuf.Type, message: Obj, opts: RedactOptions): Redacted {
  const secrets: Secret[] = [];
  const value = walk(type, message, opts, secrets);
  return { value, secrets };
}

function walk(type: protobuf.Type, message: Obj, opts: RedactOptions, secrets: Secret[]): Obj {
  const out: Obj = {};
  for (const [name, v] of Object.entries(message)) {
    const field = type.fields[name];
    if (!field) continue; // allow-list: only what the schema describes
    field.resolve();
    if (mustRedact(type, field)) {
      collect(v, field.type === 'bytes', secrets);
      out[name] = REDACTED;
      continue;
    }
    const sub = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    if (field.map) {
      out[name] = redactMap(v, sub, opts, secrets);
    } else if (sub) {
      out[name] = Array.isArray(v) ? v.map((item) => (isObj(item) ? walk(sub, item, opts, secrets) : item)) : isObj(v) ? walk(sub, v, opts, secrets) : v;
    } else {
      out[name] = v;
    }
  }
  return out;
}

function mustRedact(type: protobuf.Type, field: protobuf.Field): boolean {
  return field.options?.['debug_redact'] === true || field.type === 'bytes' || (type.name === 'KeyValue' && field.name === 'value');
}

function redactMap(v: unknown, valueType: protobuf.Type | undefined, opts: RedactOptions, secrets: Secret[]): unknown {
  if (!isObj(v)) return v;
  const out: Obj = {};
  for (const [key, item] of Object.entries(v)) {
    // Case-blind: `*token*` must catch apiToken and X_TOKEN too; erring means logging a secret.
    if (anyGlob(opts.sensitiveKeys.map((p) => p.toLowerCase()), key.toLowerCase())) {
      collect(item, false, secrets);
      out[key] = REDACTED;
    } else {
      out[key] = valueType && isObj(item) ? walk(valueType, item, opts, secrets) : item;
    }
  }
  return out;
}

/** Every leaf string under a value (bytes arrive base64-encoded). */
function collect(v: unknown, base64: boolean, secrets: Secret[]): void {
  if (typeof v === 'string') {
    secrets.push({ text: v, base64 });
  } else if (Array.isArray(v)) {
    for (const item of v) collect(item, base64, secrets);
  } else if (isObj(v)) {
    for (const item of Object.values(v)) collect(item, base64, secrets);
  }
}

/** Replace every occurrence of a secret in free text (e.g. a backend's error message). */
export function scrub(text: string, secrets: readonly Secret[]): string {
  if (text === '' || secrets.length === 0) return text;
  const forms = secrets.flatMap((s) => (s.base64 ? [Buffer.from(s.text, 'base64').toString('utf8'), s.text] : [s.text]));
  // Longest first: a secret that is part of another must not cut it and leave the rest behind.
  forms.sort((a, b) => b.length - a.length);
  let out = text;
  for (const s of forms) if (s.length >= MIN_SCRUB_LENGTH && out.includes(s)) out = out.split(s).join(REDACTED);
  return out;
}
