import { expect, it } from 'vitest';
import { RecentPods } from '../../../src/backends/recent-pods.js';

it('tells the backend of pods with exactly these annotations, only when they agree', () => {
  const pods = new RecentPods();
  pods.remember({ b: '2', a: '1' }, 'vm');
  expect(pods.backendFor({ a: '1', b: '2' })).toBe('vm'); // order does not matter
  expect(pods.backendFor({ a: '1' })).toBeUndefined();
  expect(pods.backendFor({})).toBeUndefined();
  pods.remember({}, 'vm'); // no annotations: nothing to recognise a pod by
  expect(pods.backendFor({})).toBeUndefined();
  pods.remember({ a: '1', b: '2' }, 'containerd');
  expect(pods.backendFor({ a: '1', b: '2' })).toBeUndefined(); // ambiguous
});

it('holds a fixed size per pod, whatever the size of its annotations (up to 256 KiB each in Kubernetes)', async () => {
  const { setFlagsFromString } = await import('node:v8');
  const { runInNewContext } = await import('node:vm');
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const pods = new RecentPods();
  const big = 'x'.repeat(200 * 1024);
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 500; i++) pods.remember({ 'kubernetes.io/config.seen': String(i), 'example.com/blob': big }, 'vm');
  gc();
  const grown = process.memoryUsage().heapUsed - before;
  expect(grown).toBeLessThan(16 * 1024 * 1024); // 500 pods × 200 KiB would be ~100 MiB
  expect(pods.backendFor({ 'example.com/blob': big, 'kubernetes.io/config.seen': '7' })).toBe('vm');
});
