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
