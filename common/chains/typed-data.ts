/**
 * EIP-712 typed data as it arrives in JSON: a zod schema for its shape, and a type-directed check
 * of every value (so a user learns which field is wrong and why), which also converts JSON
 * integers (numbers, decimal or 0x strings) to bigint for hashing.
 */
import { isAddress } from 'viem';
import { z } from 'zod';

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const HEX_BYTES = /^0x(?:[0-9a-fA-F]{2})*$/;
const DOMAIN_TYPE = 'EIP712Domain';
/** EIP-712's standard domain fields, in the order the domain separator encodes them. */
const STANDARD_DOMAIN_FIELDS = [
  { name: 'name', type: 'string' },
  { name: 'version', type: 'string' },
  { name: 'chainId', type: 'uint256' },
  { name: 'verifyingContract', type: 'address' },
  { name: 'salt', type: 'bytes32' },
] as const;
/** Deepest value nesting accepted (path length), far beyond any real message. */
const MAX_DEPTH = 64;
const ATOMIC_TYPES_HINT =
  'address, bool, string, bytes, bytes1..bytes32, uint8..uint256, int8..int256 (steps of 8), or arrays of these';

export const TypedDataFieldSchema = z.strictObject({
  name: z.string().regex(IDENTIFIER, 'field name must be an identifier ([A-Za-z_$][A-Za-z0-9_$]*)'),
  type: z.string().min(1, 'field type must not be empty'),
});

export type TypedDataField = z.infer<typeof TypedDataFieldSchema>;
export type TypedDataTypes = Record<string, TypedDataField[]>;
type Path = (string | number)[];
export interface Issue {
  path: Path;
  message: string;
}

/** What a type string denotes: an array of some element type, a declared struct, or an atomic type. */
type ParsedType =
  | { kind: 'array'; element: string; length: number | undefined }
  | { kind: 'struct'; name: string }
  | { kind: 'int'; signed: boolean; bits: number }
  | { kind: 'fixedBytes'; size: number }
  | { kind: 'bytes' | 'string' | 'bool' | 'address' }
  | { kind: 'unknown' };

function parseType(type: string, types: TypedDataTypes): ParsedType {
  const array = /^(.+)\[(\d*)\]$/.exec(type);
  if (array) {
    const length = array[2] === '' ? undefined : Number(array[2]);
    return { kind: 'array', element: array[1] as string, length };
  }
  if (Object.hasOwn(types, type)) return { kind: 'struct', name: type };
  const int = /^(u?)int(\d+)$/.exec(type);
  if (int) {
    const bits = Number(int[2]);
    if (bits >= 8 && bits <= 256 && bits % 8 === 0 && !int[2]?.startsWith('0')) {
      return { kind: 'int', signed: int[1] === '', bits };
    }
    return { kind: 'unknown' };
  }
  const fixed = /^bytes(\d+)$/.exec(type);
  if (fixed) {
    const size = Number(fixed[1]);
    return size >= 1 && size <= 32 && !fixed[1]?.startsWith('0') ? { kind: 'fixedBytes', size } : { kind: 'unknown' };
  }
  if (type === 'bytes' || type === 'string' || type === 'bool' || type === 'address') return { kind: type };
  return { kind: 'unknown' };
}

function checkType(type: string, types: TypedDataTypes): string | undefined {
  const parsed = parseType(type, types);
  if (parsed.kind === 'array') {
    if (parsed.length === 0) return `fixed-size array ${type} must have a length of at least 1`;
    return checkType(parsed.element, types);
  }
  if (parsed.kind === 'unknown') return `unknown type "${type}": declare it in types or use ${ATOMIC_TYPES_HINT}`;
  return undefined;
}

/** Structural checks of the `types` map that the schema cannot express field by field. */
function typesIssues(types: TypedDataTypes): Issue[] {
  const issues: Issue[] = [];
  for (const [structName, fields] of Object.entries(types)) {
    // A struct named like an atomic type would be read differently by different implementations.
    if (parseType(structName, {}).kind !== 'unknown') {
      issues.push({ path: ['types', structName], message: `type name "${structName}" is reserved for an atomic type` });
    }
    const seen = new Set<string>();
    fields.forEach((field, index) => {
      if (seen.has(field.name)) {
        issues.push({ path: ['types', structName, index, 'name'], message: `duplicate field "${field.name}"` });
      }
      seen.add(field.name);
      const problem = checkType(field.type, types);
      if (problem) issues.push({ path: ['types', structName, index, 'type'], message: problem });
    });
  }
  return issues;
}

function parseInteger(value: unknown): bigint | undefined {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return Number.isSafeInteger(value) ? BigInt(value) : undefined;
  if (typeof value === 'string' && /^(?:-?\d+|0x[0-9a-fA-F]+)$/.test(value)) return BigInt(value);
  return undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks `value` against `type`, recording issues; returns the value ready for hashing (integers as bigint). */
function normalizeValue(type: string, value: unknown, path: Path, types: TypedDataTypes, issues: Issue[]): unknown {
  const parsed = parseType(type, types);
  const fail = (message: string): unknown => {
    issues.push({ path, message });
    return value;
  };
  // Recursive struct types admit arbitrarily deep values; bound the recursion.
  if (path.length > MAX_DEPTH) return fail(`nested deeper than ${MAX_DEPTH} levels`);
  switch (parsed.kind) {
    case 'array': {
      if (!Array.isArray(value)) return fail(`expected an array (${type})`);
      if (parsed.length !== undefined && value.length !== parsed.length) {
        return fail(`expected exactly ${parsed.length} elements (${type}), got ${value.length}`);
      }
      return value.map((item, i) => normalizeValue(parsed.element, item, [...path, i], types, issues));
    }
    case 'struct':
      return normalizeStruct(types[parsed.name] ?? [], parsed.name, value, path, types, issues);
    case 'int': {
      const n = parseInteger(value);
      if (n === undefined) {
        return fail(`expected ${type} as an integer, a decimal string or a 0x-hex string`);
      }
      const min = parsed.signed ? -(1n << BigInt(parsed.bits - 1)) : 0n;
      const max = (parsed.signed ? 1n << BigInt(parsed.bits - 1) : 1n << BigInt(parsed.bits)) - 1n;
      if (n < min || n > max) return fail(`${n} is out of range for ${type} [${min}, ${max}]`);
      return n;
    }
    case 'fixedBytes':
      if (typeof value !== 'string' || !HEX_BYTES.test(value) || value.length !== 2 + 2 * parsed.size) {
        return fail(`expected ${type}: exactly ${parsed.size} bytes as 0x-hex`);
      }
      return value;
    case 'bytes':
      if (typeof value !== 'string' || !HEX_BYTES.test(value)) return fail('expected bytes as 0x-hex');
      return value;
    case 'string':
      if (typeof value !== 'string') return fail('expected a string');
      return value;
    case 'bool':
      if (typeof value !== 'boolean') return fail('expected true or false');
      return value;
    case 'address':
      if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(value)) {
        return fail('expected an address: 0x followed by 40 hex digits');
      }
      // Mixed case means EIP-55: a wrong checksum is most likely a mistyped address.
      if (!isAddress(value, { strict: true })) return fail(`address ${value} has an invalid EIP-55 checksum`);
      return value;
    case 'unknown':
      return fail(`unknown type "${type}"`);
  }
}

function normalizeStruct(
  fields: readonly TypedDataField[],
  typeName: string,
  value: unknown,
  path: Path,
  types: TypedDataTypes,
  issues: Issue[],
): Record<string, unknown> {
  if (!isPlainObject(value)) {
    issues.push({ path, message: `expected an object of type ${typeName}` });
    return {};
  }
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    if (!Object.hasOwn(value, field.name)) {
      issues.push({ path: [...path, field.name], message: `missing field "${field.name}" (${field.type})` });
      continue;
    }
    out[field.name] = normalizeValue(field.type, value[field.name], [...path, field.name], types, issues);
  }
  const known = new Set(fields.map((f) => f.name));
  for (const key of Object.keys(value)) {
    if (!known.has(key))
      issues.push({ path: [...path, key], message: `field "${key}" is not declared in ${typeName}` });
  }
  return out;
}

/** The fields of the domain: as declared in types.EIP712Domain, else the standard ones that are present. */
function domainFields(types: TypedDataTypes, domain: Record<string, unknown>, issues: Issue[]): TypedDataField[] {
  const declared = types[DOMAIN_TYPE];
  if (declared) return declared;
  const standard = new Set<string>(STANDARD_DOMAIN_FIELDS.map((f) => f.name));
  for (const key of Object.keys(domain)) {
    if (!standard.has(key)) {
      issues.push({
        path: ['domain', key],
        message: `unknown domain field "${key}": use name, version, chainId, verifyingContract, salt, or declare types.EIP712Domain`,
      });
    }
  }
  return STANDARD_DOMAIN_FIELDS.filter((f) => Object.hasOwn(domain, f.name));
}

interface TypedDataObject {
  types: TypedDataTypes;
  primaryType: string;
  domain: Record<string, unknown>;
  message: Record<string, unknown>;
}

/**
 * Every problem with a structurally valid typed-data object (paths relative to it), and, when
 * there is none, the value with its integers as bigint.
 */
export function checkTypedData(td: TypedDataObject): { issues: Issue[]; value: TypedDataObject } {
  const issues = typesIssues(td.types);
  if (td.primaryType === DOMAIN_TYPE) {
    issues.push({ path: ['primaryType'], message: 'primaryType must name the message struct, not EIP712Domain' });
  } else if (!Object.hasOwn(td.types, td.primaryType)) {
    const declared = Object.keys(td.types).filter((t) => t !== DOMAIN_TYPE);
    issues.push({
      path: ['primaryType'],
      message: `primaryType "${td.primaryType}" is not declared in types (declared: ${declared.join(', ') || 'none'})`,
    });
  }
  // Values can only be checked against types that are themselves sound.
  if (issues.length > 0) return { issues, value: td };
  const fields = domainFields(td.types, td.domain, issues);
  const domain = normalizeStruct(fields, DOMAIN_TYPE, td.domain, ['domain'], td.types, issues);
  const primaryFields = td.types[td.primaryType] ?? [];
  const message = normalizeStruct(primaryFields, td.primaryType, td.message, ['message'], td.types, issues);
  return { issues, value: { types: td.types, primaryType: td.primaryType, domain, message } };
}

/** EIP-712 `data`: the typed-data object `{types, primaryType, domain, message}` of eth_signTypedData_v4. */
export const TypedDataSchema = z
  .strictObject(
    {
      types: z
        .record(z.string().regex(IDENTIFIER, 'type name must be an identifier'), z.array(TypedDataFieldSchema))
        .refine((types) => Object.keys(types).some((t) => t !== DOMAIN_TYPE), 'types must declare the message struct'),
      primaryType: z.string().min(1),
      domain: z.record(z.string(), z.unknown()),
      message: z.record(z.string(), z.unknown()),
    },
    {
      error: (issue) =>
        issue.code === 'invalid_type'
          ? 'EIP712 data must be the typed-data object {types, primaryType, domain, message} or its JSON string'
          : undefined,
    },
  )
  .superRefine((td, ctx) => {
    for (const issue of checkTypedData(td).issues)
      ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  })
  .describe('EIP-712 typed data: {types, primaryType, domain, message} as for eth_signTypedData_v4');
export type TypedData = z.infer<typeof TypedDataSchema>;
