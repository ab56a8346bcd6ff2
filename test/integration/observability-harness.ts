// A cri-mux built the way main.ts builds it (Observability + startProxy), in front of
// in-process fake runtimes, with its process log captured byte for byte, its metrics
// endpoint on 127.0.0.1:0 and a fresh prom-client Registry: for the observability tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { createLogger } from '../../src/observability/logger.js';
import { Observability } from '../../src/observability/observability.js';
import { startProxy, type RunningProxy } from '../../src/proxy.js';
import { CriClient } from '../support/cri-client.js';
import { startFakeRuntime, type FakeRuntime } from '../support/fake-runtime.js';

export interface ObsBackend {
  name: string;
  default?: boolean;
  optional?: boolean;
}

export interface ObsOptions {
  backends?: ObsBackend[];
  /** Top-level YAML sections other than listen/backends/metrics/failure/log (routing:, audit:). */
  yaml?: string;
  /** Process log level (default trace: the redaction tests want every line there is). */
  logLevel?: string;
  /** metrics: section body lines (default: enabled on 127.0.0.1:0). */
  metricsYaml?: string;
}

export interface ObsMux {
  dir: string;
  config: Config;
  fakes: Record<string, FakeRuntime>;
  client: CriClient;
  obs: Observability;
  proxy: RunningProxy;
  /** Everything the process log received, as written. */
  processLog: string[];
  /** GET a path on the metrics endpoint. */
  get(pathname: string, method?: string): Promise<{ status: number; body: string; type: string }>;
  scrape(): Promise<Samples>;
  close(): Promise<void>;
}

export const DEFAULT_BACKENDS: ObsBackend[] = [{ name: 'containerd', default: true }, { name: 'kata', optional: true }];

export async function startObsMux(opts: ObsOptions = {}): Promise<ObsMux> {
  const backends = opts.backends ?? DEFAULT_BACKENDS;
  const dir = mkdtempSync(path.join(tmpdir(), 'cri-mux-obs-'));
  const fakes: Record<string, FakeRuntime> = {};
  for (const b of backends) fakes[b.name] = await startFakeRuntime({ name: b.name, socketPath: path.join(dir, `${b.name}.sock`) });
  const socket = path.join(dir, 'mux', 'cri-mux.sock');
  const yaml = [
    'listen:',
    `  socket: ${socket}`,
    'backends:',
    ...backends.flatMap((b) => [
      `  - name: ${b.name}`,
      `    endpoint: unix://${path.join(dir, `${b.name}.sock`)}`,
      `    default: ${b.default === true}`,
      ...(b.optional ? ['    optional: true'] : []),
    ]),
    // No periodic probe during a test: scrapes must move only by what the test does.
    'failure:',
    '  probeInterval: 1h',
    'metrics:',
    opts.metricsYaml ?? '  address: 127.0.0.1:0',
    opts.yaml ?? '',
  ].join('\n');
  const config = parseConfig(yaml, path.join(dir, 'cri-mux.yaml'));
  const processLog: string[] = [];
  const log = createLogger(opts.logLevel ?? 'trace', { write: (line: string) => void processLog.push(line) });
  const obs = new Observability(config, { log });
  await obs.listen();
  const proxy = await startProxy(config, { log, observers: obs.observers, onDeps: obs.attach });
  obs.markServing();
  const client = new CriClient(socket);
  const get = async (pathname: string, method = 'GET') => {
    const res = await fetch(`${obs.endpoint!.url}${pathname}`, { method });
    return { status: res.status, body: await res.text(), type: res.headers.get('content-type') ?? '' };
  };
  return {
    dir,
    config,
    fakes,
    client,
    obs,
    proxy,
    processLog,
    get,
    scrape: async () => parseSamples((await get('/metrics')).body),
    async close() {
      client.close();
      await proxy.close();
      await obs.close();
      await Promise.all(Object.values(fakes).map((f) => f.stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Prometheus text samples: `name{a="x",b="y"}` (labels sorted) → value. */
export type Samples = Map<string, number>;

export function sampleKey(name: string, labels: Record<string, string> = {}): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`);
  return parts.length ? `${name}{${parts.join(',')}}` : name;
}

export function parseSamples(text: string): Samples {
  const out: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = JSON.parse(`"${l[2]!}"`) as string;
    out.set(sampleKey(m[1]!, labels), Number(m[3]));
  }
  return out;
}

/**
 * Samples whose value differs between two scrapes (new samples count from 0), restricted
 * to the given metric names (exact, or with _bucket/_sum/_count when `histograms`).
 */
export function moved(before: Samples, after: Samples, names: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of after) {
    const name = key.split('{')[0]!;
    if (!names.includes(name)) continue;
    const delta = value - (before.get(key) ?? 0);
    if (delta !== 0) out[key] = Math.round(delta * 1e9) / 1e9;
  }
  return out;
}
