#!/usr/bin/env node
// cri-mux: serve | check-config | explain. The environment and argv are read here only.
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { ConfigError, loadConfigFile } from './config/load.js';
import type { Config } from './config/types.js';
import { createLogger } from './observability/logger.js';
import { Observability } from './observability/observability.js';
import { decide } from './routing/decide.js';
import { startProxy } from './proxy.js';
import { SocketInUseError } from './server/socket.js';
import { CRI_MUX_VERSION } from './version.js';

const USAGE = `cri-mux ${CRI_MUX_VERSION}: one CRI v1 socket in front of several container runtimes

usage:
  cri-mux serve --config FILE [--log-level LEVEL]   serve the CRI socket
  cri-mux check-config FILE                         validate a config and print what it means
  cri-mux explain --config FILE --pod POD.json [--handler NAME]
                                                    say which backend a pod would go to
                                                    (POD.json: a PodSandboxConfig as crictl reads it)
`;

/** node:util parseArgs, with its complaints (unknown option, missing value) as usage errors. */
function args<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${USAGE}`);
  }
}

/** A usage mistake on the command line (not in a config file): exit 2 with the message. */
class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'check-config':
      return checkConfig(rest);
    case 'explain':
      return explain(rest);
    case '--version':
    case 'version':
      process.stdout.write(`${CRI_MUX_VERSION}\n`);
      return 0;
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

function load(file: string | undefined): Config {
  if (!file) throw new UsageError('--config FILE is required');
  return loadConfigFile(file);
}

async function serve(argv: string[]): Promise<number> {
  const { values } = args({ args: argv, options: { config: { type: 'string' }, 'log-level': { type: 'string' } } });
  let config: Config;
  try {
    config = load(values.config);
  } catch (err) {
    // Config errors reach the process log too (as JSON, with every file:line problem).
    if (err instanceof ConfigError) createLogger(values['log-level'] ?? 'info').fatal({ file: err.file, problems: err.problems }, 'invalid config; not serving');
    throw err;
  }
  const log = createLogger(values['log-level'] ?? config.log.level);
  const obs = new Observability(config, { log });
  // logrotate signals the audit log to reopen; installed first, so a HUP never kills the proxy.
  const reopen = (signal: NodeJS.Signals): void => obs.reopen(signal);
  process.on('SIGHUP', reopen);
  process.on('SIGUSR2', reopen);
  let proxy;
  try {
    await obs.listen();
    proxy = await startProxy(config, { log, observers: obs.observers, onDeps: obs.attach });
    obs.markServing();
  } catch (err) {
    // An operator's problem (socket or port taken, bad group) needs its message, not a stack.
    const expected = err instanceof SocketInUseError || (err instanceof Error && 'code' in err) || (err instanceof Error && /listen\.group|cgroup driver/.test(err.message));
    log.fatal({ err: expected ? (err as Error).message : err }, 'cri-mux could not start');
    log.flush();
    await obs.close();
    process.stderr.write(`cri-mux: ${(err as Error).message}\n`);
    return 1;
  }
  log.info({ metrics: obs.endpoint?.url ?? 'off', audit: config.audit.path ?? 'off', auditFailClosed: config.audit.failClosed }, 'observability');
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await proxy.close();
  await obs.close();
  log.info('stopped');
  log.flush();
  return 0;
}

function checkConfig(argv: string[]): number {
  const { positionals, values } = args({ args: argv, allowPositionals: true, options: { config: { type: 'string' } } });
  const file = values.config ?? positionals[0];
  if (!file) throw new UsageError('check-config needs the config FILE to check');
  const config = load(file);
  const lines = [
    `${config.source}: OK`,
    `listen: ${config.listen.socket} (mode ${config.listen.mode.toString(8).padStart(4, '0')})`,
    ...config.backends.map((b) => `backend ${b.name}: ${b.endpoint}${b.default ? ' [default]' : ''}${b.optional ? ' [optional]' : ''}${b.required ? ' [required]' : ''}${b.timeoutMs !== undefined ? ` timeout=${b.timeoutMs}ms` : ''}`),
    `annotations naming a backend: ${config.routing.annotationKeys.join(', ')} (may choose: ${config.routing.annotationBackends.join(', ')})`,
    ...config.routing.rules.map((r, i) => `rule ${i + 1} ${r.name}: ${JSON.stringify(r.match)} → ${r.backend}${r.handler !== undefined ? ` (handler "${r.handler}")` : ''}`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

const POD_KEYS = ['metadata', 'hostname', 'log_directory', 'dns_config', 'port_mappings', 'labels', 'annotations', 'linux', 'windows'];

function explain(argv: string[]): number {
  const { values } = args({ args: argv, options: { config: { type: 'string' }, pod: { type: 'string' }, handler: { type: 'string' } } });
  const config = load(values.config);
  if (!values.pod) throw new UsageError('explain needs --pod POD (a PodSandboxConfig as crictl reads it, JSON or YAML)');
  let pod: { metadata?: { namespace?: string }; annotations?: Record<string, string>; labels?: Record<string, string> };
  try {
    // YAML is a superset of JSON: crictl accepts both, so does this.
    pod = (parseYaml(readFileSync(values.pod, 'utf8')) ?? {}) as typeof pod;
  } catch (err) {
    throw new UsageError(`--pod ${values.pod}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (pod === null || typeof pod !== 'object' || Array.isArray(pod)) throw new UsageError(`--pod ${values.pod}: not a PodSandboxConfig (expected a mapping with metadata, labels, annotations, …)`);
  const unknown = Object.keys(pod).filter((k) => !POD_KEYS.includes(k));
  if (unknown.length) process.stderr.write(`warning: ${values.pod}: ignoring keys a PodSandboxConfig does not have: ${unknown.join(', ')}\n`);
  const d = decide(config, {
    handler: values.handler ?? '',
    namespace: pod.metadata?.namespace ?? '',
    annotations: pod.annotations ?? {},
    labels: pod.labels ?? {},
  });
  process.stdout.write(`backend: ${d.backend}\nreason: ${d.reason} (${d.detail})\nruntime_handler sent: "${d.handler}"\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError || err instanceof UsageError) {
      process.stderr.write(`cri-mux: ${err.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`cri-mux: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
