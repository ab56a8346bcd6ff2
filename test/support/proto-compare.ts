// Descriptor-level comparison of two .proto schemas, for the schema conformance test.
//
// Each schema is flattened into a "digest": one line per package, service, RPC, message,
// field, enum and enum value, keyed by its name relative to the package. Two digests are then
// diffed key by key, so a difference reads as one line naming the element and both sides.
// Comments, ordering and formatting never count; everything that changes the wire contract does.
import protobuf from 'protobufjs';

/** Element name (relative to the package) → what it is, e.g. `PodSandbox.id` → `field 1 string`. */
export type SchemaDigest = ReadonlyMap<string, string>;

export interface CompareLabels {
  /** Name of the first (reference) schema in difference lines. Default `expected`. */
  readonly expected?: string;
  /** Name of the second schema in difference lines. Default `actual`. */
  readonly actual?: string;
}

/** Parses proto source text into a fully resolved root, keeping field names as written. */
export function parseSchema(source: string): protobuf.Root {
  const { root } = protobuf.parse(source, { keepCase: true });
  root.resolveAll();
  return root;
}

/**
 * compareSchemas lists every difference between two schemas, sorted by element name;
 * an empty list means they describe the same wire contract.
 */
export function compareSchemas(
  expected: protobuf.Root,
  actual: protobuf.Root,
  labels: CompareLabels = {},
): string[] {
  const expectedName = labels.expected ?? 'expected';
  const actualName = labels.actual ?? 'actual';
  const want = digestSchema(expected);
  const got = digestSchema(actual);
  const keys = [...new Set([...want.keys(), ...got.keys()])].sort();
  const differences: string[] = [];
  for (const key of keys) {
    const a = want.get(key);
    const b = got.get(key);
    if (a === b) continue;
    if (b === undefined) differences.push(`${key}: only in ${expectedName} (${a})`);
    else if (a === undefined) differences.push(`${key}: only in ${actualName} (${b})`);
    else differences.push(`${key}: ${expectedName} has ${a}, ${actualName} has ${b}`);
  }
  return differences;
}

/** digestSchema flattens a resolved root into one entry per schema element. */
export function digestSchema(root: protobuf.Root): SchemaDigest {
  const packages = packagesOf(root);
  // With a single package (the CRI case) names are made relative to it, so a renamed
  // package is one difference instead of one per element.
  const base = packages.length === 1 ? packages[0] : undefined;
  const relative = (fullName: string): string => {
    const name = fullName.replace(/^\./, '');
    return base !== undefined && name.startsWith(`${base}.`) ? name.slice(base.length + 1) : name;
  };
  const digest = new Map<string, string>();
  digest.set('package', packages.join(', ') || '(none)');
  const visit = (ns: protobuf.NamespaceBase): void => {
    for (const child of ns.nestedArray) {
      if (child instanceof protobuf.Service) digestService(child, relative, digest);
      else if (child instanceof protobuf.Type) digestType(child, relative, digest);
      else if (child instanceof protobuf.Enum) digestEnum(child, relative, digest);
      if (child instanceof protobuf.Namespace || child instanceof protobuf.Type) visit(child);
    }
  };
  visit(root);
  return digest;
}

/** A package is a plain namespace that directly holds a definition (not only namespaces). */
function packagesOf(root: protobuf.Root): string[] {
  const found: string[] = [];
  const visit = (ns: protobuf.NamespaceBase): void => {
    for (const child of ns.nestedArray) {
      if (!(child instanceof protobuf.Namespace) || isDefinition(child)) continue;
      if (child.nestedArray.some(isDefinition)) found.push(child.fullName.replace(/^\./, ''));
      visit(child);
    }
  };
  visit(root);
  return found.sort();
}

function isDefinition(obj: protobuf.ReflectionObject): boolean {
  return obj instanceof protobuf.Type || obj instanceof protobuf.Enum || obj instanceof protobuf.Service;
}

type Relative = (fullName: string) => string;

function digestService(service: protobuf.Service, relative: Relative, digest: Map<string, string>): void {
  const name = relative(service.fullName);
  digest.set(name, 'service');
  for (const method of service.methodsArray) {
    const request = typeName(method.resolvedRequestType, method.requestType, relative);
    const response = typeName(method.resolvedResponseType, method.responseType, relative);
    const stream = (flag: boolean | undefined): string => (flag === true ? 'stream ' : '');
    digest.set(
      `${name}.${method.name}`,
      `rpc (${stream(method.requestStream)}${request}) returns (${stream(method.responseStream)}${response})`,
    );
  }
}

function digestType(type: protobuf.Type, relative: Relative, digest: Map<string, string>): void {
  const name = relative(type.fullName);
  digest.set(name, 'message');
  for (const field of type.fieldsArray) digest.set(`${name}.${field.name}`, describeField(field, relative));
}

function digestEnum(enumType: protobuf.Enum, relative: Relative, digest: Map<string, string>): void {
  const name = relative(enumType.fullName);
  digest.set(name, 'enum');
  for (const [valueName, number] of Object.entries(enumType.values)) {
    digest.set(`${name}.${valueName}`, `value ${number}`);
  }
}

/** e.g. `field 5 repeated int64 packed`, `field 6 map<string, string>`, `field 2 string [debug_redact]`. */
function describeField(field: protobuf.Field, relative: Relative): string {
  const parts = [`field ${field.id}`];
  const type = typeName(field.resolvedType, field.type, relative);
  const proto3Optional = field.options?.['proto3_optional'] === true;
  if (field instanceof protobuf.MapField) {
    parts.push(`map<${field.keyType}, ${type}>`);
  } else {
    if (field.repeated) parts.push('repeated');
    else if (field.required) parts.push('required');
    else if (proto3Optional) parts.push('optional');
    parts.push(type);
    // Packing changes the bytes on the wire, so it counts wherever it can apply.
    if (field.repeated && isPackable(field)) parts.push(field.packed ? 'packed' : 'unpacked');
  }
  // A proto3 `optional` is a synthetic one-field oneof; `optional` above already says it.
  if (field.partOf !== null && !proto3Optional) parts.push(`oneof ${field.partOf.name}`);
  if (field.getOption('debug_redact') === true) parts.push('[debug_redact]');
  return parts.join(' ');
}

function isPackable(field: protobuf.Field): boolean {
  return field.resolvedType instanceof protobuf.Enum || field.type in protobuf.types.packed;
}

function typeName(resolved: protobuf.ReflectionObject | null, declared: string, relative: Relative): string {
  return resolved === null ? declared : relative(resolved.fullName);
}
