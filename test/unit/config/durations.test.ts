// Durations that would make the proxy spin or fail every call must be refused at load time.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { configProblems } from '../../support/config-problems.js';

const base = `
backends:
  - name: a
    endpoint: unix:///run/a.sock
    default: true
`;


describe('config durations', () => {
  it.each(['probeInterval', 'probeTimeout', 'internalTimeout', 'listTimeout'])('refuses failure.%s: 0 (a busy probe loop, or every call failing at once)', (key) => {
    expect(configProblems(`${base}failure:\n  ${key}: 0s\n`)).toEqual([expect.stringMatching(new RegExp(`^test\\.yaml:\\d+: failure\\.${key}: must be more than 0`))]);
  });

  it('refuses a backend timeout of 0', () => {
    expect(configProblems(base.replace('default: true', 'default: true\n    timeout: 0'))).toEqual([expect.stringMatching(/backends\.0\.timeout: must be more than 0/)]);
  });

  it('refuses a probe interval a Node timer cannot hold (it would fire every 1 ms)', () => {
    expect(configProblems(`${base}failure:\n  probeInterval: 600h\n`)).toEqual([expect.stringMatching(/failure\.probeInterval: must be at most 24d/)]);
    expect(configProblems(`${base}failure:\n  probeInterval: 500h\n`)).toEqual([]);
  });

  it('still allows a stale-list window of 0 (no stand-in answers)', () => {
    expect(parseConfig(`${base}failure:\n  staleListWindow: 0s\n`).failure.staleListWindowMs).toBe(0);
  });
});
