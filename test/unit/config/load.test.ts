import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { configProblems } from '../../support/config-problems.js';

const minimal = `
backends:
  - name: a
    endpoint: unix:///run/a.sock
    default: true
  - name: b
    endpoint: unix:///run/b.sock
`;


describe('config', () => {
  it('fills defaults and puts the default backend first', () => {
    const c = parseConfig(minimal.replace('    default: true\n', '') + '    default: true\n', 'x.yaml');
    expect(c.backends.map((b) => b.name)).toEqual(['b', 'a']);
    expect(c.listen).toEqual({ socket: '/run/cri-mux/cri-mux.sock', mode: 0o660, group: undefined });
    expect(c.routing.annotationKeys).toEqual(['cri-mux.io/backend', 'kubernetes.io/target-runtime']);
    expect(c.failure.staleListWindowMs).toBe(300_000);
    expect(c.maxMessageBytes).toBeGreaterThanOrEqual(16 * 1024 * 1024);
    expect(Object.isFrozen(c.backends[0])).toBe(true);
  });

  it('accepts the commented example config', () => {
    const c = parseConfig(readFileSync('config/cri-mux.example.yaml', 'utf8'), 'example.yaml');
    expect(c.routing.rules.map((r) => r.name)).toEqual(['untrusted-in-vm', 'crio-namespaces', 'batch-on-crio']);
    expect(c.routing.rules[0]!.handler).toBe('');
  });

  it('reports each problem with its line and what to write instead', () => {
    const p = configProblems(`backends:
  - name: a
    endpoint: /run/a.sock
    default: yes please
  - name: a
    endpoint: unix:///run/b.sock
routing:
  rules:
    - name: r1
      match: { runtimeHandler: kata }
      backend: nope
failure:
  staleListWindow: soon
listen:
  mode: 777
`);
    expect(p).toContain('test.yaml:3: backends.0.endpoint: must be unix:// followed by an absolute socket path, e.g. unix:///run/containerd/containerd.sock');
    expect(p).toContain('test.yaml:4: backends.0.default: must be true or false');
    expect(p.some((x) => x.startsWith('test.yaml:5: backends.1.name: duplicate backend name'))).toBe(true);
    expect(p.some((x) => x.startsWith('test.yaml:11: routing.rules.0.backend: no backend named "nope"'))).toBe(true);
    expect(p.some((x) => x.startsWith('test.yaml:13: failure.staleListWindow: must be a duration'))).toBe(true);
    expect(p.some((x) => x.startsWith('test.yaml:15: listen.mode: must be an octal mode in quotes'))).toBe(true);
    expect(p.some((x) => x.includes('exactly one backend must have "default: true" (found 0)'))).toBe(true);
  });

  it('rejects unknown keys, YAML syntax errors, and non-loopback metrics without consent', () => {
    expect(configProblems(minimal + 'routng: {}\n')).toEqual([expect.stringMatching(/^test\.yaml:\d+: routng: unknown key/)]);
    expect(configProblems('backends: [\n')[0]).toMatch(/^test\.yaml:\d+:\d+: YAML syntax/);
    expect(configProblems(minimal + 'metrics:\n  address: 0.0.0.0:9464\n')[0]).toMatch(/allowNonLoopback/);
    expect(configProblems(minimal + 'metrics:\n  address: 0.0.0.0:9464\n  allowNonLoopback: true\n')).toEqual([]);
    expect(configProblems('')[0]).toMatch(/backends: is required/);
  });

  it('refuses configs that are unsafe on a node', () => {
    expect(configProblems(minimal + 'listen:\n  socket: /run/b.sock\n')[0]).toMatch(/listen\.socket: is backend b's own socket/);
    expect(configProblems(minimal + 'listen:\n  mode: "0666"\n')[0]).toMatch(/listen\.mode: must not let every local user write/);
    expect(configProblems(minimal + `listen:\n  socket: /${'x'.repeat(120)}\n`)[0]).toMatch(/a unix socket path holds at most 107/);
    expect(configProblems(minimal.replace('unix:///run/b.sock', 'unix:///run/a.sock'))[0]).toMatch(/backends\.1\.endpoint: same socket as backends\.0/);
  });

  it('keeps likely secrets out of logs by default', () => {
    expect(parseConfig(minimal).audit.sensitiveKeys).toEqual(expect.arrayContaining(['*token*', '*secret*', '*password*']));
    expect(parseConfig(minimal + 'audit:\n  sensitiveKeys: [x]\n').audit.sensitiveKeys).toEqual(['x']);
  });

  it('lets annotations choose only the default backend unless told otherwise', () => {
    expect(parseConfig(minimal).routing.annotationBackends).toEqual(['a']);
    expect(parseConfig(minimal + 'routing:\n  annotationBackends: [a, b]\n').routing.annotationBackends).toEqual(['a', 'b']);
  });

  it('refuses an optional default and unknown annotation backends', () => {
    expect(configProblems(minimal.replace('default: true', 'default: true\n    optional: true'))[0]).toMatch(/default backend cannot be optional/);
    expect(configProblems(minimal + 'routing:\n  annotationBackends: [c]\n')[0]).toMatch(/no backend named "c"/);
  });
});
