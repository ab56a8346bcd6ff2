// A cri-mux in the test process, in front of in-process fake runtimes on real unix
// sockets: what each integration test builds fresh for itself (STYLE.md rec. 10).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import pino, { type Logger } from 'pino';
import { parseConfig } from '../../src/config/load.js';
import { startProxy, type ProxyOptions, type RunningProxy } from '../../src/proxy.js';
import { CriClient } from './cri-client.js';
import { startFakeRuntime, type FakeRuntime, type FakeRuntimeOptions } from './fake-runtime.js';

export interface MuxBackend {
  name: string;
  default?: boolean;
  optional?: boolean;
  required?: boolean;
  timeout?: string;
  fake?: Omit<FakeRuntimeOptions, 'name' | 'socketPath'>;
}

export interface MuxOptions {
  backends: MuxBackend[];
  /** Extra top-level YAML (routing:, failure:, …) appended to the generated config. */
  yaml?: string;
  observers?: ProxyOptions['observers'];
}

export interface Mux {
  dir: string;
  socket: string;
  proxy: RunningProxy;
  fakes: Record<string, FakeRuntime>;
  client: CriClient;
  /** Process-log lines the proxy wrote (JSON). */
  logLines: string[];
  /** A unary call with raw bytes in and out, as a client with a newer schema would make. */
  raw(method: string, request: Buffer, service?: 'RuntimeService' | 'ImageService', metadata?: grpc.Metadata): Promise<Buffer>;
  /** Stops the proxy (as a crash would not) and starts a new one on the same config and fakes. */
  restartProxy(): Promise<void>;
  close(): Promise<void>;
}

export function captureLogger(lines: string[]): Logger {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return pino({ level: 'debug' }, sink);
}

export async function startMux(opts: MuxOptions): Promise<Mux> {
  const dir = mkdtempSync(path.join(tmpdir(), 'cri-mux-test-'));
  const fakes: Record<string, FakeRuntime> = {};
  for (const b of opts.backends) {
    fakes[b.name] = await startFakeRuntime({ name: b.name, socketPath: path.join(dir, `${b.name}.sock`), ...b.fake });
  }
  const socket = path.join(dir, 'mux', 'cri-mux.sock');
  const yaml = [
    'listen:',
    `  socket: ${socket}`,
    'backends:',
    ...opts.backends.flatMap((b, i) => [
      `  - name: ${b.name}`,
      `    endpoint: unix://${path.join(dir, `${b.name}.sock`)}`,
      `    default: ${b.default ?? i === 0}`,
      ...(b.optional ? ['    optional: true'] : []),
      ...(b.required ? ['    required: true'] : []),
      ...(b.timeout ? [`    timeout: ${b.timeout}`] : []),
    ]),
    'metrics:',
    '  enabled: false',
    opts.yaml ?? '',
  ].join('\n');
  const config = parseConfig(yaml, path.join(dir, 'cri-mux.yaml'));
  const logLines: string[] = [];
  const log = captureLogger(logLines);
  const start = (): Promise<RunningProxy> => startProxy(config, { log, ...(opts.observers ? { observers: opts.observers } : {}) });
  let proxy = await start();
  const client = new CriClient(socket);
  const rawClient = new grpc.Client(`unix://${socket}`, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    'grpc.max_send_message_length': 64 * 1024 * 1024,
  });
  const mux: Mux = {
    dir,
    socket,
    get proxy() {
      return proxy;
    },
    fakes,
    client,
    logLines,
    raw(method, request, service = 'RuntimeService', metadata = new grpc.Metadata()) {
      return new Promise((resolve, reject) => {
        rawClient.makeUnaryRequest(
          `/runtime.v1.${service}/${method}`,
          (b: Buffer) => b,
          (b: Buffer) => b,
          request,
          metadata,
          { deadline: Date.now() + 10_000 },
          (err, res) => (err ? reject(err) : resolve(res!)),
        );
      });
    },
    async restartProxy() {
      await proxy.close();
      proxy = await start();
    },
    async close() {
      client.close();
      rawClient.close();
      await proxy.close();
      await Promise.all(Object.values(fakes).map((f) => f.stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return mux;
}
