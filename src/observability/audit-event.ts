// What one audit event says, assembled from the call's context, its (redacted) request,
// its outcome and — for PullImage — the image_ref in its response. Field picking is driven
// by the request's protobuf type, not by method: any request carrying a PodSandboxConfig,
// ContainerConfig or ImageSpec, a `cmd` or a `runtime_handler` is described the same way,
// so a new RPC is audited sensibly without a row here. Values come from the redacted
// request, so a field the schema marks debug_redact can never be picked.
import type protobuf from 'protobufjs';
import type { AuditLevel } from '../config/types.js';
import { CRI_PACKAGE } from '../cri/schema.js';
import { peekString } from '../cri/wire.js';
import type { CallContext } from '../server/call-context.js';
import type { Outcome } from '../server/observer.js';
import { grpcCodeName } from './metrics.js';
import { callerOf, type Caller } from './peer.js';
import { scrub, type Secret } from './redact.js';

/** Error messages are a backend's free text: bound what one event carries. */
const MAX_MESSAGE_CHARS = 2048;
export const AUDIT_SCHEMA = 'cri-mux.audit/v1';

type Obj = Record<string, unknown>;

export interface PodRef {
  namespace?: string;
  name?: string;
  uid?: string;
}

export interface ContainerRef {
  name?: string;
  image?: string;
}

export interface RequestDetails {
  pod?: PodRef;
  container?: ContainerRef;
  /** RestorePod restores several. */
  containers?: ContainerRef[];
  image?: string;
  runtimeHandler?: string;
  command?: string[];
}

export interface AuditEvent {
  time: string;
  schema: string;
  level: AuditLevel;
  requestId: string;
  caller: Caller;
  service: string;
  method: string;
  backends: string[];
  route: { reason: string; detail?: string; handlerSent?: string; stale?: string[]; skipped?: string[] };
  pod?: PodRef;
  container?: ContainerRef;
  containers?: ContainerRef[];
  image?: string;
  imageRef?: string;
  runtimeHandler?: string;
  sandboxId?: string;
  containerId?: string;
  command?: string[];
  outcome: { code: string; message: string; reason?: string };
  durationSeconds: number;
  request?: Obj;
  requestUndecodable?: string;
}

/** What begin() learnt about the call, kept until end(). */
export interface PendingAudit {
  level: AuditLevel;
  /** Wall-clock start, ms since epoch. */
  startedAt: number;
  details: RequestDetails;
  /** The redacted request (Request level only). */
  request?: Obj;
  secrets: readonly Secret[];
  undecodable?: string;
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function podOf(config: Obj): PodRef {
  const m = isObj(config['metadata']) ? config['metadata'] : {};
  return compact({ namespace: text(m['namespace']), name: text(m['name']), uid: text(m['uid']) });
}

function containerOf(config: unknown): ContainerRef {
  if (!isObj(config)) return {};
  const m = isObj(config['metadata']) ? config['metadata'] : {};
  const image = isObj(config['image']) ? text(config['image']['image']) : undefined;
  return compact({ name: text(m['name']), image });
}

/** The who/what of a request, from its redacted decoded form. */
export function requestDetails(type: protobuf.Type, request: Obj): RequestDetails {
  const d: RequestDetails = {};
  for (const field of type.fieldsArray) {
    const v = request[field.name];
    if (v === undefined) continue;
    const typeName = field.resolvedType?.name;
    if (typeName === 'PodSandboxConfig' && isObj(v)) d.pod = podOf(v);
    else if (typeName === 'ContainerConfig') {
      if (Array.isArray(v)) d.containers = v.map(containerOf);
      else d.container = containerOf(v);
    } else if (typeName === 'ImageSpec' && isObj(v)) d.image = text(v['image']);
    else if (field.name === 'cmd' && Array.isArray(v)) d.command = v.map(String);
    else if (field.name === 'runtime_handler') d.runtimeHandler = text(v);
  }
  if (!d.image && d.container?.image) d.image = d.container.image;
  return compact(d);
}

/** PullImageResponse.image_ref (and any response with a top-level image_ref): the digest pulled. */
function imageRefOf(responseType: protobuf.Type, response: Buffer | undefined): string | undefined {
  const field = responseType.fields['image_ref'];
  if (!response || !field || field.type !== 'string') return undefined;
  try {
    return text(peekString(response, [field.id]));
  } catch {
    return undefined;
  }
}

export function auditEvent(ctx: CallContext, p: PendingAudit, outcome: Outcome, response: Buffer | undefined): AuditEvent {
  const { route, plan } = ctx;
  const message = scrub(outcome.details, p.secrets);
  return compact({
    time: new Date(p.startedAt).toISOString(),
    schema: AUDIT_SCHEMA,
    level: p.level,
    requestId: ctx.requestId,
    caller: callerOf(ctx),
    service: `${CRI_PACKAGE}.${plan.info.service}`,
    method: plan.name,
    backends: [...route.backends],
    route: compact({
      // 'none': refused before any backend was chosen (see outcome.reason).
      reason: route.reason || 'none',
      detail: route.detail || undefined,
      handlerSent: route.handlerSent,
      stale: route.stale.length ? [...route.stale] : undefined,
      skipped: route.skipped.length ? [...route.skipped] : undefined,
    }),
    ...p.details,
    imageRef: outcome.code === 0 ? imageRefOf(plan.info.responseType, response) : undefined,
    sandboxId: route.sandboxId,
    containerId: route.containerId,
    outcome: compact({
      code: grpcCodeName(outcome.code),
      message: message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS)}…` : message,
      reason: outcome.reason === 'OK' ? undefined : outcome.reason,
    }),
    durationSeconds: Math.round(outcome.seconds * 1e6) / 1e6,
    request: p.request,
    requestUndecodable: p.undecodable,
  });
}
