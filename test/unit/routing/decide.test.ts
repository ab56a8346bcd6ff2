import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { ProxyError } from '../../../src/errors/catalogue.js';
import { decide, possibleBackends } from '../../../src/routing/decide.js';

const config = parseConfig(`
backends:
  - { name: containerd, endpoint: "unix:///a.sock", default: true }
  - { name: crio, endpoint: "unix:///b.sock" }
  - { name: kata, endpoint: "unix:///c.sock", optional: true }
routing:
  annotationBackends: [containerd, crio]
  rules:
    - name: vm
      match: { runtimeHandler: "kata*" }
      backend: kata
      handler: ""
    - name: ns
      match: { namespace: ["team-*"], labels: { tier: "back*" } }
      backend: crio
`);

const pod = (over: Partial<Parameters<typeof decide>[1]> = {}) => ({ handler: '', namespace: 'default', annotations: {}, labels: {}, ...over });

describe('decide', () => {
  it('falls back to the default backend, handler untouched', () => {
    expect(decide(config, pod({ handler: 'runc' }))).toEqual({ backend: 'containerd', reason: 'default', detail: 'default', handler: 'runc' });
  });

  it('applies rules in order with globs and rewrites the handler', () => {
    expect(decide(config, pod({ handler: 'kata-qemu' }))).toEqual({ backend: 'kata', reason: 'rule', detail: 'vm', handler: '' });
    expect(decide(config, pod({ namespace: 'team-a', labels: { tier: 'backend' } })).backend).toBe('crio');
    // Every condition of a rule must hold.
    expect(decide(config, pod({ namespace: 'team-a', labels: { tier: 'front' } })).backend).toBe('containerd');
  });

  it('lets an allowed annotation choose, with either key', () => {
    expect(decide(config, pod({ annotations: { 'cri-mux.io/backend': 'crio' } }))).toMatchObject({ backend: 'crio', reason: 'annotation', detail: 'cri-mux.io/backend' });
    expect(decide(config, pod({ annotations: { 'kubernetes.io/target-runtime': 'crio' } })).backend).toBe('crio');
  });

  it('never lets an annotation escape an operator rule (RuntimeClass, namespace)', () => {
    expect(decide(config, pod({ handler: 'kata', annotations: { 'cri-mux.io/backend': 'containerd' } }))).toMatchObject({ backend: 'kata', reason: 'rule', detail: 'vm' });
    expect(decide(config, pod({ namespace: 'team-x', labels: { tier: 'backend' }, annotations: { 'cri-mux.io/backend': 'containerd' } })).backend).toBe('crio');
  });

  it('refuses annotations naming unknown or disallowed backends, saying what is allowed', () => {
    expect(() => decide(config, pod({ annotations: { 'cri-mux.io/backend': 'docker' } }))).toThrow(/names no configured backend \(configured: containerd, crio, kata\)/);
    try {
      decide(config, pod({ annotations: { 'cri-mux.io/backend': 'kata' } }));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ProxyError);
      expect((err as ProxyError).reason).toBe('CRIMUX_ERR_RUNTIME_DENIED');
      expect((err as ProxyError).message).toMatch(/only lets annotations choose containerd, crio/);
    }
  });
});

describe('possibleBackends (a call that tells only part of the workload)', () => {
  it('is the decided backend when what is told settles it', () => {
    expect(possibleBackends(config, { handler: 'kata', annotations: {} })).toEqual(['kata']);
    expect(possibleBackends(config, { handler: 'runc', annotations: { 'cri-mux.io/backend': 'crio' } })).toEqual(['crio']);
  });

  it('lists every backend a rule on an untold attribute might choose, and the fallback', () => {
    // Handler untold: the vm rule may match; namespace/labels always untold: the ns rule may.
    expect(possibleBackends(config, { handler: undefined, annotations: {} })).toEqual(['containerd', 'crio', 'kata']);
    expect(possibleBackends(config, { handler: 'runc', annotations: {} })).toEqual(['containerd', 'crio']);
  });
});

describe('odd annotation keys', () => {
  it('does not take Object properties for pod annotations', () => {
    const c = parseConfig(`
backends:
  - { name: a, endpoint: "unix:///a.sock", default: true }
  - { name: b, endpoint: "unix:///b.sock" }
routing:
  annotationKeys: [constructor]
  rules:
    - { name: odd, match: { annotations: { toString: "*" } }, backend: b }
`);
    expect(decide(c, pod())).toMatchObject({ backend: 'a', reason: 'default' });
  });
});
