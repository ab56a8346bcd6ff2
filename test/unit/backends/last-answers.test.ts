import { afterEach, describe, expect, it, vi } from 'vitest';
import { LastAnswers } from '../../../src/backends/last-answers.js';

const req = Buffer.from('req');
afterEach(() => vi.useRealTimers());

describe('last answers', () => {
  it('stands in within the window, says since when, and stops after it', () => {
    vi.useFakeTimers();
    const cache = new LastAnswers(1000);
    cache.put('b', 'ListPodSandbox', req, Buffer.from('answer'));
    const t0 = Date.now();
    vi.advanceTimersByTime(500);
    expect(cache.standIn('b', 'ListPodSandbox', req)?.bytes.toString()).toBe('answer');
    expect(cache.staleSince('b')).toBe(t0);
    expect(cache.standIn('b', 'ListPodSandbox', Buffer.from('other filter'))).toBeUndefined();
    vi.advanceTimersByTime(600);
    expect(cache.standIn('b', 'ListPodSandbox', req)).toBeUndefined();
    expect(cache.staleSince('b')).toBeUndefined();
  });

  it('forgets the stand-in marker on a fresh answer or when the backend is up', () => {
    const cache = new LastAnswers(60_000);
    cache.put('b', 'M', req, Buffer.from('x'));
    cache.standIn('b', 'M', req);
    expect(cache.staleSince('b')).toBeDefined();
    cache.backendUp('b');
    expect(cache.staleSince('b')).toBeUndefined();
    cache.standIn('b', 'M', req);
    cache.put('b', 'M', req, Buffer.from('y'));
    expect(cache.staleSince('b')).toBeUndefined();
  });

  it('bounds what it holds per backend by count and by bytes, oldest out first', () => {
    const cache = new LastAnswers(60_000);
    for (let i = 0; i < 70; i++) cache.put('b', 'M', Buffer.from(String(i)), Buffer.from('x'));
    expect(cache.standIn('b', 'M', Buffer.from('0'))).toBeUndefined();
    expect(cache.standIn('b', 'M', Buffer.from('69'))).toBeDefined();
    const big = Buffer.alloc(40 * 1024 * 1024);
    cache.put('c', 'M', Buffer.from('1'), big);
    cache.put('c', 'M', Buffer.from('2'), big);
    expect(cache.standIn('c', 'M', Buffer.from('1'))).toBeUndefined();
    expect(cache.standIn('c', 'M', Buffer.from('2'))).toBeDefined();
  });
});
