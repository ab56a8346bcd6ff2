// The project's proto/ must describe the same wire contract as upstream cri-api: the proxy
// peeks at fields by number and decodes merged answers with this schema, so a wrong number,
// type or packing silently corrupts what kubelet sees.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareSchemas, digestSchema, parseSchema } from '../../support/proto-compare.js';
import { findRepoRoot } from '../../support/repo-root.js';

const repoRoot = findRepoRoot(import.meta.url);
const projectProto = path.join(repoRoot, 'proto', 'runtime', 'v1', 'api.proto');
const referenceProto = path.resolve(repoRoot, '..', 'shared', 'cri-api', 'api.proto');

const labels = { expected: 'upstream', actual: 'proto/' } as const;

// A skipped describe still runs its body to collect tests, so files are read inside the tests.
if (!existsSync(referenceProto)) console.warn(`skipping the upstream schema comparison: ${referenceProto} is absent (it sits in ../shared beside the repo)`);

describe.skipIf(!existsSync(referenceProto))('proto/runtime/v1/api.proto matches upstream cri-api', () => {
  const load = (file: string) => parseSchema(readFileSync(file, 'utf8'));

  it('describes the same package, services, RPCs, messages, fields and enums', () => {
    const differences = compareSchemas(load(referenceProto), load(projectProto), labels);
    expect(differences, `proto/ differs from ${referenceProto}:\n  ${differences.join('\n  ')}`).toEqual([]);
  });

  it('compares a non-trivial schema (both services and their RPCs were read)', () => {
    const digest = digestSchema(load(referenceProto));
    expect(digest.get('package')).toBe('runtime.v1');
    expect(digest.get('RuntimeService')).toBe('service');
    expect(digest.get('ImageService')).toBe('service');
    expect(digest.get('RuntimeService.RunPodSandbox')).toBe('rpc (RunPodSandboxRequest) returns (RunPodSandboxResponse)');
    expect(digest.get('AuthConfig.password')).toBe('field 2 string [debug_redact]');
  });
});

// The comparator must be able to fail, or the test above proves nothing. These mutate an
// in-memory copy of the project's schema (always present, unlike the reference) and expect
// exactly the differences introduced.
describe('compareSchemas', () => {
  const source = readFileSync(projectProto, 'utf8');
  const original = parseSchema(source);
  const diff = (mutated: string): string[] => compareSchemas(original, parseSchema(mutated), labels);

  it('reports nothing for an identical schema', () => {
    expect(diff(source)).toEqual([]);
  });

  it('reports exactly a renamed field, a renumbered field and a dropped enum value', () => {
    let mutated = inBlock(source, 'message VersionResponse', 'string runtime_name = 2;', 'string runtime_nam = 2;');
    mutated = inBlock(mutated, 'message PodSandbox', 'string runtime_handler = 7;', 'string runtime_handler = 17;');
    mutated = inBlock(mutated, 'enum Protocol', 'SCTP = 2;', '');
    expect(diff(mutated)).toEqual([
      'PodSandbox.runtime_handler: upstream has field 7 string, proto/ has field 17 string',
      'Protocol.SCTP: only in upstream (value 2)',
      'VersionResponse.runtime_nam: only in proto/ (field 2 string)',
      'VersionResponse.runtime_name: only in upstream (field 2 string)',
    ]);
  });

  it.each([
    {
      what: 'a field type (KeyValue.value bytes → string)',
      block: 'message KeyValue', from: 'bytes value = 2;', to: 'string value = 2;',
      expected: ['KeyValue.value: upstream has field 2 bytes, proto/ has field 2 string'],
    },
    {
      what: 'a response streaming flag',
      block: 'service RuntimeService',
      from: 'returns (stream ContainerEventResponse)', to: 'returns (ContainerEventResponse)',
      expected: [
        'RuntimeService.GetContainerEvents: upstream has rpc (GetEventsRequest) returns (stream ContainerEventResponse), ' +
          'proto/ has rpc (GetEventsRequest) returns (ContainerEventResponse)',
      ],
    },
    {
      what: 'a request type',
      block: 'service ImageService', from: 'rpc ImageFsInfo(ImageFsInfoRequest)', to: 'rpc ImageFsInfo(ImageFilter)',
      expected: [
        'ImageService.ImageFsInfo: upstream has rpc (ImageFsInfoRequest) returns (ImageFsInfoResponse), ' +
          'proto/ has rpc (ImageFilter) returns (ImageFsInfoResponse)',
      ],
    },
    {
      what: 'a dropped RPC',
      block: 'service ImageService', from: 'rpc RemoveImage(RemoveImageRequest) returns (RemoveImageResponse) {}', to: '',
      expected: ['ImageService.RemoveImage: only in upstream (rpc (RemoveImageRequest) returns (RemoveImageResponse))'],
    },
    {
      what: 'a repeated rule',
      block: 'message ExecSyncRequest', from: 'repeated string cmd = 2;', to: 'string cmd = 2;',
      expected: ['ExecSyncRequest.cmd: upstream has field 2 repeated string, proto/ has field 2 string'],
    },
    {
      what: 'a map key type',
      block: 'message PodSandboxConfig', from: 'map<string, string> labels = 6;', to: 'map<int32, string> labels = 6;',
      expected: ['PodSandboxConfig.labels: upstream has field 6 map<string, string>, proto/ has field 6 map<int32, string>'],
    },
    {
      what: 'packing of a repeated scalar',
      block: 'message LinuxContainerUser',
      from: 'repeated int64 supplemental_groups = 3;', to: 'repeated int64 supplemental_groups = 3 [packed = false];',
      expected: [
        'LinuxContainerUser.supplemental_groups: upstream has field 3 repeated int64 packed, ' +
          'proto/ has field 3 repeated int64 unpacked',
      ],
    },
    {
      what: 'a dropped debug_redact marking',
      block: 'message AuthConfig', from: 'string password = 2 [debug_redact = true];', to: 'string password = 2;',
      expected: ['AuthConfig.password: upstream has field 2 string [debug_redact], proto/ has field 2 string'],
    },
    {
      what: 'oneof membership',
      block: 'message ImageSpec', from: 'string image_ref = 20;', to: 'oneof ref { string image_ref = 20; }',
      expected: ['ImageSpec.image_ref: upstream has field 20 string, proto/ has field 20 string oneof ref'],
    },
    {
      what: 'a nested type',
      block: 'message SecurityProfile', from: 'Localhost = 2;', to: 'LocalhostProfile = 2;',
      expected: [
        'SecurityProfile.ProfileType.Localhost: only in upstream (value 2)',
        'SecurityProfile.ProfileType.LocalhostProfile: only in proto/ (value 2)',
      ],
    },
    {
      what: 'an enum value number',
      block: 'enum CgroupDriver', from: 'CGROUPFS = 1;', to: 'CGROUPFS = 2;',
      expected: ['CgroupDriver.CGROUPFS: upstream has value 1, proto/ has value 2'],
    },
  ])('reports $what', ({ block, from, to, expected }) => {
    expect(diff(inBlock(source, block, from, to))).toEqual(expected);
  });

  it('reports a changed package once', () => {
    expect(diff(source.replace('package runtime.v1;', 'package runtime.v2;'))).toEqual([
      'package: upstream has runtime.v1, proto/ has runtime.v2',
    ]);
  });
});

/**
 * inBlock replaces `from` with `to` inside the top-level `header { … }` block of proto source,
 * insisting on exactly one occurrence so a drifting schema cannot turn a mutation into a no-op.
 */
function inBlock(source: string, header: string, from: string, to: string): string {
  const start = source.indexOf(`\n${header} {`);
  if (start < 0) throw new Error(`no block "${header}" in schema`);
  let depth = 0;
  let end = source.indexOf('{', start);
  for (; end < source.length; end++) {
    if (source[end] === '{') depth++;
    else if (source[end] === '}' && --depth === 0) break;
  }
  const block = source.slice(start, end + 1);
  const occurrences = block.split(from).length - 1;
  if (occurrences !== 1) throw new Error(`"${from}" occurs ${occurrences} times in ${header}, expected once`);
  return source.slice(0, start) + block.replace(from, to) + source.slice(end + 1);
}
