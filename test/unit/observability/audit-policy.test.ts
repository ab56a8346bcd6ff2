import { describe, expect, it } from 'vitest';
import { METHOD_TABLE, MUTATING } from '../../../src/cri/table.js';
import { auditPolicy, defaultLevel } from '../../../src/observability/audit-policy.js';

describe('audit policy', () => {
  it('audits every mutating RPC at Metadata and every other RPC not at all, by default', () => {
    for (const method of Object.keys(METHOD_TABLE)) {
      expect(defaultLevel(method), method).toBe(MUTATING.has(method as never) ? 'Metadata' : 'None');
    }
    for (const m of ['RunPodSandbox', 'CreateContainer', 'StartContainer', 'ExecSync', 'Exec', 'Attach', 'PortForward', 'PullImage', 'RemoveImage', 'UpdateRuntimeConfig', 'CheckpointContainer', 'RestorePod']) {
      expect(defaultLevel(m), m).toBe('Metadata');
    }
    for (const m of ['Version', 'Status', 'ListContainers', 'ContainerStatus', 'ImageStatus', 'GetContainerEvents']) expect(defaultLevel(m), m).toBe('None');
  });

  it('lets audit.levels override per method', () => {
    const policy = auditPolicy({ ExecSync: 'Request', StopContainer: 'None', ListImages: 'Metadata' });
    expect(policy('ExecSync')).toBe('Request');
    expect(policy('StopContainer')).toBe('None');
    expect(policy('ListImages')).toBe('Metadata');
    expect(policy('RunPodSandbox')).toBe('Metadata');
    expect(policy('Version')).toBe('None');
  });
});
