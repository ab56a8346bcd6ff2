import { describe, expect, it } from 'vitest';
import { compileTable } from '../../../src/cri/plan.js';
import { CriSchema } from '../../../src/cri/schema.js';
import { mergeAnswers } from '../../../src/strategies/merge.js';

const schema = new CriSchema();
const plans = compileTable(schema).plans;

describe('merging answers as bytes', () => {
  it('concatenation is the union of lists', () => {
    const a = schema.encode('ListContainersResponse', { containers: [{ id: 'a1' }] });
    const b = schema.encode('ListContainersResponse', { containers: [{ id: 'b1' }, { id: 'b2' }] });
    const merged = mergeAnswers([a, b], plans.get('ListContainers')!.merge!);
    expect(schema.decode('ListContainersResponse', merged)).toEqual({ containers: [{ id: 'a1' }, { id: 'b1' }, { id: 'b2' }] });
  });

  it('lists an image held by two backends once', () => {
    const a = schema.encode('ListImagesResponse', { images: [{ id: 'sha256:1', repo_tags: ['x'] }] });
    const b = schema.encode('ListImagesResponse', { images: [{ id: 'sha256:1', repo_tags: ['x'] }, { id: 'sha256:2' }] });
    const merged = mergeAnswers([a, b], plans.get('ListImages')!.merge!);
    expect((schema.decode('ListImagesResponse', merged)['images'] as unknown[]).length).toBe(2);
  });

  it('keeps the default backend filesystems first and dedupes by mountpoint', () => {
    const fs = (m: string) => ({ fs_id: { mountpoint: m }, used_bytes: { value: '1' } });
    const a = schema.encode('ImageFsInfoResponse', { image_filesystems: [fs('/var/lib/a')], container_filesystems: [fs('/var/lib/a')] });
    const b = schema.encode('ImageFsInfoResponse', { image_filesystems: [fs('/var/lib/b'), fs('/var/lib/a')], container_filesystems: [fs('/var/lib/b')] });
    const merged = schema.decode('ImageFsInfoResponse', mergeAnswers([a, b], plans.get('ImageFsInfo')!.merge!)) as Record<string, { fs_id: { mountpoint: string } }[]>;
    expect(merged['image_filesystems']!.map((f) => f.fs_id.mountpoint)).toEqual(['/var/lib/a', '/var/lib/b']);
    expect(merged['container_filesystems']!.map((f) => f.fs_id.mountpoint)).toEqual(['/var/lib/a', '/var/lib/b']);
  });
});
