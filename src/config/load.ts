// parse → validate → freeze. Every problem in a file is reported at once, each with the
// file:line it sits on and what to write instead, so an operator fixes a config in one pass.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isIP } from 'node:net';
import { LineCounter, parseDocument, isMap, isSeq, type Document } from 'yaml';
import { isCriMethod } from '../cri/table.js';
import { parseDuration } from './duration.js';
import {
  DEFAULTS,
  type AuditLevel,
  type BackendConfig,
  type Config,
  type RuleConfig,
  type RuleMatch,
} from './types.js';

type Path = readonly (string | number)[];

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`invalid config ${file}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

/** sun_path is 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH = 107;

/** Node timers hold at most 2^31-1 ms; a longer one fires after 1 ms (TimeoutOverflowWarning). */
const MAX_TIMER_MS = 2 ** 31 - 1;

const AUDIT_LEVELS: readonly AuditLevel[] = ['None', 'Metadata', 'Request'];
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function loadConfigFile(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`cannot read the file: ${(err as Error).message}`]);
  }
  return parseConfig(text, file);
}

export function parseConfig(text: string, file = '<config>'): Config {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const problems: string[] = [];
  for (const e of doc.errors) {
    const { line, col } = lines.linePos(e.pos[0]);
    problems.push(`${file}:${line}:${col}: YAML syntax: ${e.message.split('\n')[0]}`);
  }
  if (problems.length) throw new ConfigError(file, problems);
  const v = new Validator(doc, lines, file);
  const config = v.config(path.resolve(file));
  if (v.problems.length) throw new ConfigError(file, v.problems);
  return deepFreeze(config);
}

/** Walks the parsed document, reading typed values and recording problems with their line. */
class Validator {
  readonly problems: string[] = [];
  private readonly root: unknown;

  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
    private readonly file: string,
  ) {
    this.root = doc.toJS() ?? {};
  }

  problem(at: Path, message: string): void {
    this.problems.push(`${this.where(at)}: ${at.length ? at.join('.') + ': ' : ''}${message}`);
  }

  private where(at: Path): string {
    // Point at the node itself, or at the nearest ancestor that exists (a missing key).
    for (let n = at.length; n >= 0; n--) {
      const node = n === 0 ? this.doc.contents : this.doc.getIn(at.slice(0, n), true);
      const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
      if (range) {
        const { line } = this.lines.linePos(range[0]);
        return `${this.file}:${line}`;
      }
    }
    return this.file;
  }

  get(at: Path): unknown {
    let cur: unknown = this.root;
    for (const key of at) {
      if (cur === null || typeof cur !== 'object') return undefined;
      cur = (cur as Record<string | number, unknown>)[key];
    }
    return cur;
  }

  /** Reports keys the schema does not know: a typo must not silently change behaviour. */
  known(at: Path, keys: readonly string[]): void {
    const node = at.length === 0 ? this.doc.contents : this.doc.getIn(at, true);
    if (!isMap(node)) return;
    for (const item of node.items) {
      const key = String((item.key as { value?: unknown } | null)?.value ?? item.key);
      if (!keys.includes(key)) this.problem([...at, key], `unknown key; expected one of: ${keys.join(', ')}`);
    }
  }

  object(at: Path, required = false): Record<string, unknown> | undefined {
    const value = this.get(at);
    if (value === undefined || value === null) {
      if (required) this.problem(at, 'is required');
      return undefined;
    }
    if (typeof value !== 'object' || Array.isArray(value)) {
      this.problem(at, 'must be a mapping (key: value lines)');
      return undefined;
    }
    return value as Record<string, unknown>;
  }

  list(at: Path, required = false): unknown[] {
    const value = this.get(at);
    if (value === undefined || value === null) {
      if (required) this.problem(at, 'is required (a list)');
      return [];
    }
    const node = this.doc.getIn(at, true);
    if (!Array.isArray(value) || (node !== undefined && !isSeq(node))) {
      this.problem(at, 'must be a list');
      return [];
    }
    return value;
  }

  string(at: Path, opts: { required?: boolean; allowEmpty?: boolean } = {}): string | undefined {
    const value = this.get(at);
    if (value === undefined || value === null) {
      if (opts.required) this.problem(at, 'is required');
      return undefined;
    }
    if (typeof value !== 'string') {
      this.problem(at, `must be a string (got ${JSON.stringify(value)}; quote it)`);
      return undefined;
    }
    if (!opts.allowEmpty && value === '') {
      this.problem(at, 'must not be empty');
      return undefined;
    }
    return value;
  }

  bool(at: Path, fallback: boolean): boolean {
    const value = this.get(at);
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'boolean') {
      this.problem(at, 'must be true or false');
      return fallback;
    }
    return value;
  }

  /** `positive`: a deadline or period, where 0 would fail every call or spin. `timer`: fits a Node timer. */
  duration(at: Path, fallback: number | undefined, opts: { positive?: boolean; timer?: boolean } = {}): number | undefined {
    const value = this.get(at);
    if (value === undefined || value === null) return fallback;
    const ms = parseDuration(value);
    if (ms === undefined) {
      this.problem(at, `must be a duration like 500ms, 30s, 5m or 1h (got ${JSON.stringify(value)})`);
      return fallback;
    }
    if (opts.positive && ms <= 0) {
      this.problem(at, `must be more than 0 (got ${JSON.stringify(value)}); 0 would fail every call at once or spin`);
      return fallback;
    }
    if (opts.timer && ms > MAX_TIMER_MS) {
      this.problem(at, `must be at most 24d (got ${JSON.stringify(value)}); a longer Node timer fires at once`);
      return fallback;
    }
    return ms;
  }

  integer(at: Path, fallback: number, min: number, max: number): number {
    const value = this.get(at);
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.problem(at, `must be a whole number from ${min} to ${max}`);
      return fallback;
    }
    return value;
  }

  /** A glob or a list of globs. */
  globs(at: Path): string[] | undefined {
    const value = this.get(at);
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string') return [value];
    if (Array.isArray(value) && value.every((x) => typeof x === 'string')) return value as string[];
    this.problem(at, 'must be a string or a list of strings (globs: * and ? allowed)');
    return undefined;
  }

  stringMap(at: Path): Record<string, string> | undefined {
    const obj = this.object(at);
    if (!obj) return undefined;
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(obj)) {
      if (typeof val !== 'string') this.problem([...at, k], 'must be a string (quote values such as "true")');
      else out[k] = val;
    }
    return out;
  }

  config(source: string): Config {
    this.object([], true);
    this.known([], ['listen', 'backends', 'routing', 'failure', 'grpc', 'log', 'metrics', 'audit']);
    const backends = this.backends();
    const names = new Set(backends.map((b) => b.name));
    const listen = this.listen();
    const clash = backends.find((b) => b.socketPath === listen.socket);
    if (clash) {
      // After a runtime crash its socket file looks stale; serving there would take over the
      // runtime's socket and proxy to ourselves.
      this.problem(['listen', 'socket'], `is backend ${clash.name}'s own socket; cri-mux needs a socket of its own`);
    }
    return {
      source,
      listen,
      backends,
      routing: this.routing(names, backends.filter((b) => b.default).map((b) => b.name)),
      failure: this.failure(),
      maxMessageBytes: this.maxMessageBytes(),
      log: this.logSection(),
      metrics: this.metrics(),
      audit: this.audit(),
    };
  }

  listen(): Config['listen'] {
    this.object(['listen']);
    this.known(['listen'], ['socket', 'mode', 'group']);
    const socket = this.string(['listen', 'socket']) ?? DEFAULTS.socket;
    if (!path.isAbsolute(socket)) this.problem(['listen', 'socket'], 'must be an absolute path, e.g. /run/cri-mux/cri-mux.sock');
    if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) this.problem(['listen', 'socket'], `is ${Buffer.byteLength(socket)} bytes; a unix socket path holds at most ${MAX_SOCKET_PATH}`);
    const rawMode = this.get(['listen', 'mode']);
    let mode: number = DEFAULTS.socketMode;
    if (rawMode !== undefined && rawMode !== null) {
      const parsed = typeof rawMode === 'string' && /^0?[0-7]{3}$/.test(rawMode) ? parseInt(rawMode, 8) : NaN;
      if (Number.isNaN(parsed)) this.problem(['listen', 'mode'], 'must be an octal mode in quotes, e.g. "0660"');
      else if (parsed & 0o002) this.problem(['listen', 'mode'], 'must not let every local user write to the socket: whoever can connect can run containers as root (use "0660" and a group)');
      else mode = parsed;
    }
    const rawGroup = this.get(['listen', 'group']);
    let group: string | number | undefined;
    if (typeof rawGroup === 'number' && Number.isInteger(rawGroup) && rawGroup >= 0) group = rawGroup;
    else if (typeof rawGroup === 'string' && /^[a-z_][a-z0-9_-]*\$?$/i.test(rawGroup)) group = rawGroup;
    else if (rawGroup !== undefined && rawGroup !== null) this.problem(['listen', 'group'], 'must be a group name (e.g. kubelet) or a numeric gid');
    return { socket, mode, group };
  }

  backends(): BackendConfig[] {
    const items = this.list(['backends'], true);
    if (this.get(['backends']) !== undefined && items.length === 0) this.problem(['backends'], 'needs at least one backend');
    const out: BackendConfig[] = [];
    const seen = new Map<string, number>();
    items.forEach((_, i) => {
      const at = ['backends', i];
      if (!this.object(at, true)) return;
      this.known(at, ['name', 'endpoint', 'default', 'optional', 'required', 'timeout']);
      const name = this.string([...at, 'name'], { required: true });
      if (name !== undefined && !/^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/.test(name)) {
        this.problem([...at, 'name'], 'use lower-case letters, digits, ".", "_" and "-" (it becomes a metric label)');
      }
      if (name !== undefined && seen.has(name)) this.problem([...at, 'name'], `duplicate backend name (first at backends.${seen.get(name)})`);
      if (name !== undefined) seen.set(name, i);
      const endpoint = this.string([...at, 'endpoint'], { required: true });
      let socketPath = '';
      if (endpoint !== undefined) {
        if (!endpoint.startsWith('unix://') || !path.isAbsolute(endpoint.slice('unix://'.length))) {
          this.problem([...at, 'endpoint'], 'must be unix:// followed by an absolute socket path, e.g. unix:///run/containerd/containerd.sock');
        } else socketPath = endpoint.slice('unix://'.length);
        const first = out.findIndex((b) => b.socketPath === socketPath);
        if (socketPath && first >= 0) this.problem([...at, 'endpoint'], `same socket as backends.${first}; each backend is a different runtime`);
        if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) this.problem([...at, 'endpoint'], `socket path is longer than the ${MAX_SOCKET_PATH} bytes a unix socket path holds`);
      }
      const isDefault = this.bool([...at, 'default'], false);
      const optional = this.bool([...at, 'optional'], false);
      const required = this.bool([...at, 'required'], false);
      if (isDefault && optional) this.problem([...at, 'optional'], 'the default backend cannot be optional');
      if (optional && required) this.problem([...at, 'required'], 'a backend cannot be both optional and required');
      const timeoutMs = this.duration([...at, 'timeout'], undefined, { positive: true });
      out.push({ name: name ?? `#${i}`, endpoint: endpoint ?? '', socketPath, default: isDefault, optional, required, timeoutMs });
    });
    const defaults = out.filter((b) => b.default);
    if (out.length > 0 && defaults.length !== 1) {
      this.problem(['backends'], `exactly one backend must have "default: true" (found ${defaults.length}${defaults.length ? ': ' + defaults.map((b) => b.name).join(', ') : ''})`);
    }
    // The default backend first: merged answers list it first (kubelet reads ImageFsInfo[0]).
    return [...defaults, ...out.filter((b) => !b.default)];
  }

  routing(backendNames: ReadonlySet<string>, defaultBackend: readonly string[]): Config['routing'] {
    this.object(['routing']);
    this.known(['routing'], ['annotationKeys', 'annotationBackends', 'rules']);
    const keys = this.globs(['routing', 'annotationKeys']) ?? [...DEFAULTS.annotationKeys];
    // Pod authors write annotations; by default they may only pick the default backend
    // (i.e. nothing a RuntimeClass rule would not give them). Operators widen it explicitly.
    const allowed = this.globs(['routing', 'annotationBackends']) ?? [...defaultBackend];
    allowed.forEach((name, i) => {
      if (!backendNames.has(name)) this.problem(['routing', 'annotationBackends', i], `no backend named "${name}" (known: ${[...backendNames].join(', ')})`);
    });
    const rules: RuleConfig[] = [];
    const ruleNames = new Set<string>();
    this.list(['routing', 'rules']).forEach((_, i) => {
      const at = ['routing', 'rules', i];
      if (!this.object(at, true)) return;
      this.known(at, ['name', 'match', 'backend', 'handler']);
      const name = this.string([...at, 'name'], { required: true }) ?? `rule-${i}`;
      if (ruleNames.has(name)) this.problem([...at, 'name'], 'duplicate rule name (rule names label metrics and audit events)');
      ruleNames.add(name);
      const backend = this.string([...at, 'backend'], { required: true });
      if (backend !== undefined && !backendNames.has(backend)) {
        this.problem([...at, 'backend'], `no backend named "${backend}" (known: ${[...backendNames].join(', ')})`);
      }
      const handler = this.string([...at, 'handler'], { allowEmpty: true });
      const match = this.ruleMatch([...at, 'match']);
      rules.push({ name, match, backend: backend ?? '', handler });
    });
    return { annotationKeys: keys, annotationBackends: allowed, rules };
  }

  ruleMatch(at: Path): RuleMatch {
    if (!this.object(at, true)) return {};
    this.known(at, ['runtimeHandler', 'namespace', 'annotations', 'labels']);
    const match: { -readonly [K in keyof RuleMatch]: RuleMatch[K] } = {};
    const runtimeHandler = this.globs([...at, 'runtimeHandler']);
    const namespace = this.globs([...at, 'namespace']);
    const annotations = this.stringMap([...at, 'annotations']);
    const labels = this.stringMap([...at, 'labels']);
    if (runtimeHandler) match.runtimeHandler = runtimeHandler;
    if (namespace) match.namespace = namespace;
    if (annotations) match.annotations = annotations;
    if (labels) match.labels = labels;
    if (Object.keys(match).length === 0) {
      this.problem(at, 'must name at least one of runtimeHandler, namespace, annotations, labels (a catch-all is the default backend)');
    }
    return match;
  }

  failure(): Config['failure'] {
    this.object(['failure']);
    this.known(['failure'], ['staleListWindow', 'probeInterval', 'probeTimeout', 'internalTimeout', 'listTimeout']);
    return {
      staleListWindowMs: this.duration(['failure', 'staleListWindow'], DEFAULTS.staleListWindowMs)!,
      probeIntervalMs: this.duration(['failure', 'probeInterval'], DEFAULTS.probeIntervalMs, { positive: true, timer: true })!,
      probeTimeoutMs: this.duration(['failure', 'probeTimeout'], DEFAULTS.probeTimeoutMs, { positive: true })!,
      internalTimeoutMs: this.duration(['failure', 'internalTimeout'], DEFAULTS.internalTimeoutMs, { positive: true })!,
      listTimeoutMs: this.duration(['failure', 'listTimeout'], DEFAULTS.listTimeoutMs, { positive: true })!,
    };
  }

  maxMessageBytes(): number {
    this.object(['grpc']);
    this.known(['grpc'], ['maxMessageBytes']);
    return this.integer(['grpc', 'maxMessageBytes'], DEFAULTS.maxMessageBytes, 16 * 1024 * 1024, 2 ** 31 - 1);
  }

  logSection(): Config['log'] {
    this.object(['log']);
    this.known(['log'], ['level']);
    const level = this.string(['log', 'level']) ?? DEFAULTS.logLevel;
    if (!LOG_LEVELS.includes(level)) this.problem(['log', 'level'], `must be one of ${LOG_LEVELS.join(', ')}`);
    return { level };
  }

  metrics(): Config['metrics'] {
    this.object(['metrics']);
    this.known(['metrics'], ['enabled', 'address', 'allowNonLoopback']);
    const enabled = this.bool(['metrics', 'enabled'], true);
    const allowNonLoopback = this.bool(['metrics', 'allowNonLoopback'], false);
    const address = this.string(['metrics', 'address']) ?? `${DEFAULTS.metricsHost}:${DEFAULTS.metricsPort}`;
    const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(address);
    let host: string = DEFAULTS.metricsHost;
    let port: number = DEFAULTS.metricsPort;
    if (!m || Number(m[3]) > 65535) {
      this.problem(['metrics', 'address'], 'must be host:port, e.g. 127.0.0.1:9464 or [::1]:9464');
    } else {
      host = (m[1] ?? m[2])!;
      port = Number(m[3]);
      const loopback = host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
      if (!loopback && !allowNonLoopback) {
        this.problem(['metrics', 'address'], `${host} is not a loopback address; set metrics.allowNonLoopback: true to expose metrics beyond this node`);
      }
    }
    return { enabled, host, port, allowNonLoopback };
  }

  audit(): Config['audit'] {
    this.object(['audit']);
    this.known(['audit'], ['path', 'failClosed', 'levels', 'sensitiveKeys']);
    const auditPath = this.string(['audit', 'path']);
    if (auditPath !== undefined && !path.isAbsolute(auditPath)) this.problem(['audit', 'path'], 'must be an absolute path');
    const levels: Record<string, AuditLevel> = {};
    for (const [method, level] of Object.entries(this.stringMap(['audit', 'levels']) ?? {})) {
      if (!isCriMethod(method)) this.problem(['audit', 'levels', method], `no CRI method named ${method} (e.g. RunPodSandbox, ExecSync, PullImage; names as in api.proto)`);
      else if (!AUDIT_LEVELS.includes(level as AuditLevel)) this.problem(['audit', 'levels', method], `must be one of ${AUDIT_LEVELS.join(', ')}`);
      else levels[method] = level as AuditLevel;
    }
    return {
      path: auditPath,
      failClosed: this.bool(['audit', 'failClosed'], false),
      levels,
      sensitiveKeys: this.globs(['audit', 'sensitiveKeys']) ?? [...DEFAULTS.sensitiveKeys],
    };
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
