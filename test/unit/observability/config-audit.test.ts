// The audit and metrics sections of the config, as observability reads them.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../src/config/load.js';

const BASE = `backends:
  - name: containerd
    endpoint: unix:///run/containerd/containerd.sock
    default: true
`;

describe('audit config', () => {
  it('rejects audit.levels for a method that does not exist, with its line', () => {
    const text = `${BASE}audit:\n  path: /var/log/cri-mux/audit.log\n  levels:\n    RunPodSandbox: Request\n    RunPodSandboxx: None\n`;
    try {
      parseConfig(text, 'x.yaml');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems).toEqual([expect.stringMatching(/^x\.yaml:9: audit\.levels\.RunPodSandboxx: no CRI method named RunPodSandboxx/)]);
    }
  });

  it('accepts the example config\'s audit and metrics sections', async () => {
    const { loadConfigFile } = await import('../../../src/config/load.js');
    const { findRepoRoot } = await import('../../support/repo-root.js');
    const config = loadConfigFile(`${findRepoRoot(import.meta.url)}/config/cri-mux.example.yaml`);
    expect(config.audit.path).toBe('/var/log/cri-mux/audit.log');
    expect(config.metrics).toMatchObject({ enabled: true, host: '127.0.0.1', port: 9464 });
  });
});
