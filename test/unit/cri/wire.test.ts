import { describe, expect, it } from 'vitest';
import { CriSchema } from '../../../src/cri/schema.js';
import { MalformedMessageError, encodeField, entries, peekString, withString, without } from '../../../src/cri/wire.js';

const schema = new CriSchema();

describe('wire peeks', () => {
  it('reads a nested string the way a protobuf decoder would, including merged occurrences', () => {
    const req = schema.encode('ListContainersRequest', { filter: { id: 'abc', pod_sandbox_id: 'pod1' } });
    expect(peekString(req, [1, 1])).toBe('abc');
    expect(peekString(req, [1, 3])).toBe('pod1');
    // A second occurrence of filter merges into the first; its id wins.
    const merged = Buffer.concat([req, encodeField(1, encodeField(1, Buffer.from('xyz')))]);
    expect(peekString(merged, [1, 1])).toBe('xyz');
    expect(peekString(merged, [1, 3])).toBe('pod1');
    // (protobufjs' own decoder would drop pod_sandbox_id here: it does not merge occurrences.)
  });

  it('answers undefined for absent fields', () => {
    expect(peekString(Buffer.alloc(0), [1])).toBeUndefined();
    expect(peekString(schema.encode('ListContainersRequest', {}), [1, 1])).toBeUndefined();
  });

  it('overrides a string in place, leaving unknown fields intact', () => {
    const unknown = encodeField(999, Buffer.from('future'));
    const req = Buffer.concat([schema.encode('RunPodSandboxRequest', { runtime_handler: 'kata', config: { hostname: 'h' } }), unknown]);
    const patched = withString(req, [2], '');
    expect(schema.decode('RunPodSandboxRequest', patched)).toEqual({ config: { hostname: 'h' }, runtime_handler: '' });
    expect(entries(patched, 999).map((e) => Buffer.from(e).toString())).toEqual(['future']);
    const nestedUnknown = Buffer.concat([schema.encode('PullImageRequest', { image: { image: 'busybox' } }), encodeField(1, encodeField(77, Buffer.from('inner')))]);
    const rewritten = withString(nestedUnknown, [1, 19], 'runc');
    expect(peekString(rewritten, [1, 77])).toBe('inner');
    expect(peekString(rewritten, [1, 1])).toBe('busybox');
    const pull = schema.encode('PullImageRequest', { image: { image: 'busybox', runtime_handler: 'kata' } });
    expect(schema.decode('PullImageRequest', withString(pull, [1, 19], 'runc'))).toEqual({ image: { image: 'busybox', runtime_handler: 'runc' } });
  });

  it('lists repeated entries and drops fields by number', () => {
    const res = schema.encode('ListPodSandboxResponse', { items: [{ id: 'a' }, { id: 'b' }] });
    expect(entries(res, 1).map((e) => peekString(e, [1]))).toEqual(['a', 'b']);
    expect(without(Buffer.concat([res, encodeField(7, Buffer.from('x'))]), new Set([7])).equals(res)).toBe(true);
  });

  it('rejects bytes that are not protobuf with a typed error', () => {
    expect(() => peekString(Buffer.from([0x0a, 0x05, 0x61]), [1])).toThrow(MalformedMessageError);
    expect(() => peekString(Buffer.from([0x00, 0x01]), [1])).toThrow(MalformedMessageError);
    expect(() => peekString(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), [1])).toThrow(MalformedMessageError);
  });
});
