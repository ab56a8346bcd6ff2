// Decoded protobuf messages arrive as `unknown`-valued records (proto-loader with keepCase,
// longs/enums as strings, defaults on). These helpers narrow one field at a time, so the
// handlers read requests without casts and without `any`.

/** A request as proto-loader decoded it: field name (as in the .proto) → value. */
export type DecodedMessage = Readonly<Record<string, unknown>>;

/** A response given as a plain object; proto-loader's serializer encodes it (fromObject rules). */
export type ResponseMessage = { readonly [field: string]: unknown };

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

/** The sub-message `name` of `msg`, or undefined when absent/null. */
export function rec(msg: unknown, name: string): DecodedMessage | undefined {
  const value = isRecord(msg) ? msg[name] : undefined;
  return isRecord(value) ? value : undefined;
}

export function str(msg: unknown, name: string): string {
  const value = isRecord(msg) ? msg[name] : undefined;
  return typeof value === 'string' ? value : '';
}

export function bool(msg: unknown, name: string): boolean {
  return isRecord(msg) && msg[name] === true;
}

export function strings(msg: unknown, name: string): string[] {
  const value = isRecord(msg) ? msg[name] : undefined;
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

export function records(msg: unknown, name: string): DecodedMessage[] {
  const value = isRecord(msg) ? msg[name] : undefined;
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

/** A `map<string, string>` field. */
export function stringMap(msg: unknown, name: string): Record<string, string> {
  const value = rec(msg, name);
  const out: Record<string, string> = {};
  if (value === undefined) return out;
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}
