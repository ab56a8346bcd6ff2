// Compile the method table against the schema: field names become wire numbers once, at
// start-up, and every inconsistency (a typo, a stream whose unary fallback is not
// wire-compatible, a schema method with no row) is an error before the socket opens.
import protobuf from 'protobufjs';
import { CriSchema, type MethodInfo } from './schema.js';
import { METHOD_TABLE, isCriMethod, type CriMethod, type Merge, type Narrow, type Row } from './table.js';

export type CompiledMerge = { by: 'concat' } | { by: 'unique'; lists: readonly number[]; key: readonly number[] };

export interface CompiledNarrow {
  sandboxId?: number[];
  containerId?: number[];
  handler?: number[];
}

export interface MethodPlan {
  readonly name: CriMethod;
  readonly info: MethodInfo;
  readonly row: Row;
  /** Request/response field paths named by the row, compiled. */
  readonly id?: number[];
  readonly podConfig?: number[];
  readonly handler?: number[];
  readonly createsSandbox?: number[];
  readonly createsContainer?: number[];
  /** byId: the integer request field whose 0 lifts every deadline (row.foreverWhenZero). */
  readonly foreverWhenZero?: number;
  readonly createsContainers?: { list: number; id: number[] };
  readonly image?: number[];
  readonly narrow?: CompiledNarrow;
  readonly merge?: CompiledMerge;
  readonly fallback?: MethodInfo;
}

export interface CompiledTable {
  readonly plans: ReadonlyMap<string, MethodPlan>;
  /** Schema methods without a row: served as UNIMPLEMENTED, and logged at start-up. */
  readonly unplanned: readonly MethodInfo[];
}

export function compileTable(schema: CriSchema): CompiledTable {
  const plans = new Map<string, MethodPlan>();
  const unplanned: MethodInfo[] = [];
  for (const info of schema.methods.values()) {
    if (!isCriMethod(info.name)) {
      unplanned.push(info);
      continue;
    }
    plans.set(info.name, compileRow(schema, info.name, info, METHOD_TABLE[info.name]));
  }
  for (const name of Object.keys(METHOD_TABLE)) {
    if (!schema.methods.has(name)) throw new Error(`method table row ${name} has no RPC in the schema`);
  }
  return { plans, unplanned };
}

function compileRow(schema: CriSchema, name: CriMethod, info: MethodInfo, row: Row): MethodPlan {
  const req = (dotted: string): number[] => schema.fieldPath(info.requestType, dotted);
  const res = (dotted: string): number[] => schema.fieldPath(info.responseType, dotted);
  const base = { name, info, row };
  switch (row.strategy) {
    case 'byId':
      return {
        ...base,
        id: req(row.id),
        ...(row.createsContainer ? { createsContainer: res(row.createsContainer) } : {}),
        ...(row.foreverWhenZero ? { foreverWhenZero: req(row.foreverWhenZero)[0]! } : {}),
      };
    case 'newPod': {
      const plan: MethodPlan = { ...base, podConfig: req(row.podConfig), handler: req(row.handler), createsSandbox: res(row.createsSandbox) };
      if (!row.createsContainers) return plan;
      const list = res(row.createsContainers.list);
      const itemType = (info.responseType.fields[row.createsContainers.list]!.resolvedType as protobuf.Type);
      return { ...plan, createsContainers: { list: list[0]!, id: schema.fieldPath(itemType, row.createsContainers.id) } };
    }
    case 'image':
      return { ...base, image: req(row.image), ...(row.podConfig ? { podConfig: req(row.podConfig) } : {}) };
    case 'fanOut':
      return { ...base, merge: compileMerge(schema, info.responseType, row.merge), ...narrowOf(row.narrow, req) };
    case 'streamMerge': {
      const fallback = schema.method(row.fallback);
      assertWireCompatible(info, fallback);
      return { ...base, fallback, merge: compileMerge(schema, info.responseType, row.merge), ...narrowOf(row.narrow, req) };
    }
    case 'node':
    case 'events':
    case 'broadcast':
      return base;
  }
}

function narrowOf(narrow: Narrow | undefined, req: (d: string) => number[]): { narrow?: CompiledNarrow } {
  if (!narrow) return {};
  const out: CompiledNarrow = {};
  if (narrow.sandboxId) out.sandboxId = req(narrow.sandboxId);
  if (narrow.containerId) out.containerId = req(narrow.containerId);
  if (narrow.handler) out.handler = req(narrow.handler);
  return { narrow: out };
}

function compileMerge(schema: CriSchema, response: protobuf.Type, merge: Merge): CompiledMerge {
  if (merge.by === 'concat') return merge;
  const lists = merge.lists.map((l) => schema.fieldPath(response, l)[0]!);
  const itemTypes = merge.lists.map((l) => response.fields[l]!.resolvedType as protobuf.Type);
  const keys = itemTypes.map((t) => schema.fieldPath(t, merge.key));
  if (keys.some((k) => k.join('.') !== keys[0]!.join('.'))) throw new Error(`${response.name}: merge key ${merge.key} differs between lists`);
  return { by: 'unique', lists, key: keys[0]! };
}

/**
 * A Stream* RPC may be served from its unary List on a backend that lacks it, forwarding
 * the same request bytes and sending the List answer as one stream message. That is only
 * sound when both requests and both responses agree field by field on the wire.
 */
function assertWireCompatible(stream: MethodInfo, unary: MethodInfo): void {
  const sameFields = (a: protobuf.Type, b: protobuf.Type): boolean =>
    a.fieldsArray.length === b.fieldsArray.length &&
    a.fieldsArray.every((f) => {
      const g = b.fieldsById[f.id];
      return g !== undefined && g.type === f.type && g.repeated === f.repeated;
    });
  if (!sameFields(stream.requestType, unary.requestType) || !sameFields(stream.responseType, unary.responseType)) {
    throw new Error(`${stream.name} cannot fall back to ${unary.name}: their messages differ on the wire`);
  }
}
