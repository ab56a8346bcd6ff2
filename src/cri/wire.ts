// Peeking at and patching serialized protobuf without a full decode.
//
// The proxy forwards messages as the bytes it received (DESIGN.md "forward bytes, not
// objects"). Routing needs only a few fields, so this module walks the wire format with
// protobufjs' Reader and reads just those. Two properties of the encoding do the rest:
// occurrences of an embedded message field merge (so reading a nested field means
// concatenating every occurrence of its parent), and for a scalar the last occurrence wins.
import protobuf from 'protobufjs';

const WIRE_LEN = 2;

/** A message that cannot be parsed as protobuf; the caller turns it into INVALID_ARGUMENT. */
export class MalformedMessageError extends Error {}

export interface WireField {
  number: number;
  wireType: number;
  /** Offset of the tag: [start, end) is the whole field, tag included. */
  start: number;
  end: number;
  /** For length-delimited fields, the payload without its length prefix. */
  valueStart: number;
  valueEnd: number;
}

/** The top-level fields of one message, in wire order. */
export function fieldsOf(buf: Uint8Array): WireField[] {
  const reader = protobuf.Reader.create(buf);
  const fields: WireField[] = [];
  try {
    while (reader.pos < reader.len) {
      const start = reader.pos;
      const tag = reader.uint32();
      const number = tag >>> 3;
      const wireType = tag & 7;
      if (number === 0) throw new MalformedMessageError('field number 0');
      let valueStart = reader.pos;
      if (wireType === WIRE_LEN) {
        const length = reader.uint32();
        valueStart = reader.pos;
        reader.skip(length);
      } else {
        reader.skipType(wireType);
      }
      fields.push({ number, wireType, start, end: reader.pos, valueStart, valueEnd: reader.pos });
    }
  } catch (err) {
    if (err instanceof MalformedMessageError) throw err;
    throw new MalformedMessageError(err instanceof Error ? err.message : String(err));
  }
  return fields;
}

/** Payloads of every occurrence of a length-delimited field (a repeated field's items). */
export function entries(buf: Uint8Array, number: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const f of fieldsOf(buf)) {
    if (f.number === number && f.wireType === WIRE_LEN) out.push(buf.subarray(f.valueStart, f.valueEnd));
  }
  return out;
}

/** The embedded message at a path, with all its occurrences merged (concatenated). */
export function peekMessage(buf: Uint8Array, path: readonly number[]): Uint8Array | undefined {
  let current: Uint8Array | undefined = buf;
  for (const number of path) {
    if (!current) return undefined;
    const parts = entries(current, number);
    current = parts.length === 0 ? undefined : parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }
  return current;
}

/** A string field at a path; undefined when absent (proto3: the same as ""). */
export function peekString(buf: Uint8Array, path: readonly number[]): string | undefined {
  if (path.length === 0) return undefined;
  const parent = path.length === 1 ? buf : peekMessage(buf, path.slice(0, -1));
  if (!parent) return undefined;
  const values = entries(parent, path[path.length - 1]!);
  const last = values[values.length - 1];
  return last === undefined ? undefined : Buffer.from(last.buffer, last.byteOffset, last.byteLength).toString('utf8');
}

/** Every string at a path whose last step is repeated (e.g. restored_containers.container_id). */
export function peekRepeatedStrings(buf: Uint8Array, listNumber: number, itemPath: readonly number[]): string[] {
  const out: string[] = [];
  for (const item of entries(buf, listNumber)) {
    const value = itemPath.length === 0 ? Buffer.from(item).toString('utf8') : peekString(item, itemPath);
    if (value) out.push(value);
  }
  return out;
}

/** One length-delimited field, tag included. */
export function encodeField(number: number, payload: Uint8Array): Buffer {
  return Buffer.from(protobuf.Writer.create().uint32((number << 3) | WIRE_LEN).bytes(payload).finish());
}

/**
 * Set a string field at a path, leaving every other byte's meaning intact (unknown fields
 * included). The occurrences of each message on the path are merged into one, written
 * where the first one stood. Appending an override would be enough for a conforming
 * decoder, but protobufjs replaces rather than merges repeated embedded messages, and a
 * backend may be built on it.
 */
export function withString(buf: Uint8Array, path: readonly number[], value: string): Buffer {
  const [head, ...rest] = path;
  if (head === undefined) throw new Error('withString: empty path');
  const fields = fieldsOf(buf);
  const occurrences = fields.filter((f) => f.number === head && f.wireType === WIRE_LEN);
  const payload =
    rest.length === 0
      ? Buffer.from(value, 'utf8')
      : withString(Buffer.concat(occurrences.map((f) => buf.subarray(f.valueStart, f.valueEnd))), rest, value);
  const replacement = encodeField(head, payload);
  if (occurrences.length === 0) return Buffer.concat([buf, replacement]);
  const out: Uint8Array[] = [];
  for (const f of fields) {
    if (f.number !== head) out.push(buf.subarray(f.start, f.end));
    else if (f === occurrences[0]) out.push(replacement);
  }
  return Buffer.concat(out);
}

/** Raw bytes (tag included) of every field except the given numbers, in wire order. */
export function without(buf: Uint8Array, numbers: ReadonlySet<number>): Buffer {
  const keep = fieldsOf(buf).filter((f) => !numbers.has(f.number));
  return Buffer.concat(keep.map((f) => buf.subarray(f.start, f.end)));
}
