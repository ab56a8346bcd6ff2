// Hand-made wire bytes for tests that must prove bytes survive the proxy untouched.
import protobuf from 'protobufjs';

/**
 * withUnknownField appends a length-delimited field (wire type 2) that no CRI schema knows,
 * e.g. `withUnknownField(fake.encodeResponse('Version', {...}), 999, 'from-the-future')`.
 * Protobuf parsers keep it as an unknown field, so it must reach the client byte for byte.
 */
export function withUnknownField(message: Uint8Array, fieldNumber: number, value: string | Uint8Array): Buffer {
  const writer = protobuf.Writer.create().uint32(((fieldNumber << 3) | 2) >>> 0);
  const field = typeof value === 'string' ? writer.string(value) : writer.bytes(value);
  return Buffer.concat([message, field.finish()]);
}
