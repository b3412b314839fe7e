/**
 * The `custos` command line as pure functions: argv in, a validated command out. Nothing here
 * touches the network; the only file it may read (--data-file) comes through `readText`.
 */
import { parseArgs } from 'node:util';
import {
  ALGORITHMS,
  CURVE_OF_ALGORITHM,
  CURVES,
  DATA_TYPES,
  HexDataSchema,
  KEY_STATUSES,
  SETTABLE_KEY_STATUSES,
  KeyIdSchema,
  ACCESS_KEY_ROLES,
  AuditQuerySchema,
  CidrSchema,
  ScopeSchema,
} from '../../common/api/schemas.ts';
import type { Algorithm, Curve, SignRequest, UpdateStatusRequest } from '../../common/api/schemas.ts';
import { CLIENT_KEY_ALGORITHMS, type ClientKeyAlgorithm } from '../../common/authz/client-keys.ts';
import type { AuditQueryInput, CreateAccessKeyInput, GenerateKeyInput, ListKeysInput } from '../client.ts';
import { SET_ID_PATTERN } from '../../common/backup/manifest.ts';
import { NODE_ID_PATTERN } from '../../common/pki/identity.ts';

/** A mistake in how the command was typed: exit code 2 and a pointer to --help. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type Command =
  | { kind: 'help' }
  | { kind: 'generate'; request: GenerateKeyInput; idempotencyKey?: string }
  | { kind: 'get'; keyId: string }
  | { kind: 'list'; query: ListKeysInput; all: boolean }
  | { kind: 'sign'; keyId: string; request: SignRequest }
  | { kind: 'status'; keyId: string; request: UpdateStatusRequest }
  | { kind: 'refresh'; keyId: string }
  | { kind: 'operation'; operationId: string }
  | { kind: 'ready' }
  | { kind: 'aborts'; keyId: string; clear: boolean }
  | {
      kind: 'create-access-key';
      accessKey: string;
      algorithm: ClientKeyAlgorithm;
      out: string;
      settings: CreateAccessKeyInput;
    }
  | { kind: 'create-hmac-access-key'; request: CreateAccessKeyInput; out?: string }
  | { kind: 'list-access-keys' }
  | { kind: 'rotate-access-key'; accessKey: string; graceSeconds?: number; out?: string }
  | { kind: 'access-key-status'; accessKey: string; status: 'ENABLED' | 'DISABLED' }
  | { kind: 'audit-query'; query: AuditQueryInput }
  | { kind: 'audit-export'; query: Omit<AuditQueryInput, 'cursor'> }
  | { kind: 'audit-verify'; publicKey?: string }
  | { kind: 'backup-create' }
  | { kind: 'backup-list' }
  | { kind: 'backup-verify'; setId?: string; source: BackupSource }
  | { kind: 'backup-restore'; setId?: string; target: RestoreTarget; source: BackupSource };

/** What a restore writes: one node's store, or the gateway's database and key files. */
export type RestoreTarget = { readonly nodeId: string } | { readonly gateway: true };

/** Where `backup verify|restore` read a set from, and what they check it with (paths as typed). */
export interface BackupSource {
  /** JSON file with the primary and DR object stores (common/backup/object-store.ts). */
  readonly targets: string;
  readonly location: 'primary' | 'dr';
  /** age identity file (the offline recovery key). */
  readonly identity: string;
  /** Cluster CA certificate; default <home>/certs/ca.cert. */
  readonly ca?: string;
  /** CUSTOS_HOME of the node to restore (its data, .dek and certificate); default $CUSTOS_HOME. */
  readonly home?: string;
}

export interface Invocation {
  command: Command;
  credentialsPath?: string;
  baseUrl?: string;
}

export const USAGE = `usage: custos [--credentials FILE] [--base-url URL] <command>

commands:
  keys generate [--algo GG18|DMZ21|DKLS23|EDDSA|BLS] [--curve SECP256K1|ED25519|BLS12_381]
                [--shards N] [--threshold T] [--label L] [--idempotency-key K]
                [--signers AK1,AK2 [--change-quorum Q]]
  keys get <key_id>
  keys list [--limit N] [--label L] [--status ACTIVE|FROZEN|ARCHIVED] [--cursor C | --all]
  keys sign <key_id> --type HASH|EIP191|EIP712|RAW (--data 0x.. | --data-file typed.json)
                [--encoding hex|utf8]
  keys status <key_id> ACTIVE|FROZEN|ARCHIVED [--reason R]
  keys refresh <key_id>                 proactive share refresh (same public key); prints the operation
  operations get <operation_id>         PENDING, RUNNING, SUCCEEDED or FAILED with the reason
  keys aborts <key_id>          failed sessions per signer set and who they were pinned on
  keys clear-aborts <key_id>    lets the holder nodes sign with the key again after too many
                                aborts without a proven culprit (audited)
  access-keys create [--name N] [--roles signer,key-admin,approver,auditor,admin]
                [--scope key_id:ID|label:L|label-prefix:P]... [--cidr CIDR]... [--out FILE]
                an HMAC key (admin only); the secret is shown once: written to FILE as
                credentials.json, else printed
  access-keys create <access_key> --out FILE [--algo ED25519|P256] [--roles ...] [--scope ...] [--cidr ...]
                makes a key pair here, registers its public half, writes FILE
                (credentials for the new key; the private key never leaves this machine)
  access-keys list
  access-keys rotate <access_key> [--grace-seconds S] [--out FILE]
                new secret; the old one keeps working for S seconds (default 3600)
  access-keys disable|enable <access_key>
  audit query [--key-id K] [--operation OP] [--access-key AK] [--result SUCCESS|FAILURE|REJECTED]
              [--from ISO] [--to ISO] [--limit N] [--cursor C]
  audit export [same filters]   every matching entry as JSON lines, oldest first
  audit verify [--public-key HEX]
                the gateway's hash chain, signed checkpoints and live head; exit 1 when
                tampered or when the checkpoint key is not the pinned one
  ready
  backup create                 writes a backup set now to the primary and DR object stores
  backup list                   the sets in the primary store (through the gateway)
  backup verify [SET_ID] --targets FILE --identity FILE [--location primary|dr] [--ca FILE]
                checks every hash and the manifest signature, decrypts every file with the
                recovery identity in a scratch directory (latest set when SET_ID is omitted)
  backup restore [SET_ID] (--node ID | --gateway) --targets FILE --identity FILE
                [--location primary|dr] [--home DIR] [--ca FILE]
                restores one stopped node's store (refused when the node holds newer shares),
                or the stopped gateway's database and key files (refused when its audit log
                is longer than the backup's)

With an asymmetric access key (credentials holding private_key) every sign request carries a
client authorisation that the TSS nodes verify themselves.
Credentials come from --credentials FILE, else $CUSTOS_HOME/credentials.json
(CUSTOS_HOME defaults to ./.custos). Output is JSON on stdout.`;

const OPTIONS = {
  credentials: { type: 'string' },
  'base-url': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  algo: { type: 'string' },
  curve: { type: 'string' },
  shards: { type: 'string' },
  threshold: { type: 'string' },
  label: { type: 'string' },
  'idempotency-key': { type: 'string' },
  limit: { type: 'string' },
  status: { type: 'string' },
  cursor: { type: 'string' },
  all: { type: 'boolean' },
  data: { type: 'string' },
  'data-file': { type: 'string' },
  type: { type: 'string' },
  encoding: { type: 'string' },
  reason: { type: 'string' },
  signers: { type: 'string' },
  'change-quorum': { type: 'string' },
  out: { type: 'string' },
  name: { type: 'string' },
  roles: { type: 'string' },
  scope: { type: 'string', multiple: true },
  cidr: { type: 'string', multiple: true },
  'grace-seconds': { type: 'string' },
  'key-id': { type: 'string' },
  operation: { type: 'string' },
  'access-key': { type: 'string' },
  result: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  'public-key': { type: 'string' },
  targets: { type: 'string' },
  identity: { type: 'string' },
  location: { type: 'string' },
  ca: { type: 'string' },
  home: { type: 'string' },
  node: { type: 'string' },
  gateway: { type: 'boolean' },
} as const;

type Flags = {
  [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K] extends { multiple: true }
    ? string[]
    : (typeof OPTIONS)[K]['type'] extends 'boolean'
      ? boolean
      : string;
};

const AUDIT_FILTERS = ['key-id', 'operation', 'access-key', 'result', 'from', 'to'] as const;

const GLOBAL_FLAGS = ['credentials', 'base-url', 'help'] as const;
const FLAGS_OF_COMMAND: Record<string, readonly (keyof Flags)[]> = {
  'keys generate': ['algo', 'curve', 'shards', 'threshold', 'label', 'idempotency-key', 'signers', 'change-quorum'],
  'access-keys create': ['algo', 'out', 'name', 'roles', 'scope', 'cidr'],
  'access-keys list': [],
  'access-keys rotate': ['grace-seconds', 'out'],
  'access-keys disable': [],
  'access-keys enable': [],
  'audit query': [...AUDIT_FILTERS, 'limit', 'cursor'],
  'audit export': [...AUDIT_FILTERS],
  'audit verify': ['public-key'],
  'keys get': [],
  'keys list': ['limit', 'label', 'status', 'cursor', 'all'],
  'keys sign': ['data', 'data-file', 'type', 'encoding'],
  'keys status': ['reason'],
  'keys refresh': [],
  'operations get': [],
  'keys aborts': [],
  'keys clear-aborts': [],
  ready: [],
  'backup create': [],
  'backup list': [],
  'backup verify': ['targets', 'identity', 'location', 'ca'],
  'backup restore': ['targets', 'identity', 'location', 'ca', 'home', 'node', 'gateway'],
};

export function parseInvocation(argv: readonly string[], readText: (path: string) => string): Invocation {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const flags: Flags = parsed.values;
  const positionals = parsed.positionals;
  const globals = {
    ...(flags.credentials !== undefined && { credentialsPath: flags.credentials }),
    ...(flags['base-url'] !== undefined && { baseUrl: baseUrlFlag(flags['base-url']) }),
  };
  if (flags.help || positionals.length === 0) return { command: { kind: 'help' }, ...globals };

  const group = ['keys', 'access-keys', 'audit', 'operations', 'backup'].includes(positionals[0] ?? '');
  const name = group ? `${positionals[0]} ${positionals[1] ?? ''}`.trim() : (positionals[0] ?? '');
  const allowed = FLAGS_OF_COMMAND[name];
  if (allowed === undefined) throw new UsageError(`unknown command "${positionals.join(' ')}"`);
  for (const flag of Object.keys(flags) as (keyof Flags)[]) {
    if (!allowed.includes(flag) && !(GLOBAL_FLAGS as readonly string[]).includes(flag)) {
      throw new UsageError(`--${flag} does not apply to "${name}"`);
    }
  }
  const args = positionals.slice(name.split(' ').length);
  return { command: commandFrom(name, args, flags, readText), ...globals };
}

function commandFrom(name: string, args: string[], flags: Flags, readText: (path: string) => string): Command {
  switch (name) {
    case 'keys generate':
      expectArgs(name, args, 0);
      return generateCommand(flags);
    case 'keys get':
      expectArgs(name, args, 1);
      return { kind: 'get', keyId: keyIdArg(args[0]) };
    case 'keys list':
      expectArgs(name, args, 0);
      return listCommand(flags);
    case 'keys sign':
      expectArgs(name, args, 1);
      return { kind: 'sign', keyId: keyIdArg(args[0]), request: signRequestFrom(flags, readText) };
    case 'keys status':
      expectArgs(name, args, 2);
      return {
        kind: 'status',
        keyId: keyIdArg(args[0]),
        request: {
          status: oneOf('status', args[1], SETTABLE_KEY_STATUSES),
          ...(flags.reason !== undefined && { reason: flags.reason }),
        },
      };
    case 'keys refresh':
      expectArgs(name, args, 1);
      return { kind: 'refresh', keyId: keyIdArg(args[0]) };
    case 'operations get':
      expectArgs(name, args, 1);
      if (!/^op_[0-9a-f]{32}$/.test(args[0] ?? ''))
        throw new UsageError('operation_id has the form op_<32 hex digits>');
      return { kind: 'operation', operationId: args[0]! };
    case 'keys aborts':
    case 'keys clear-aborts':
      expectArgs(name, args, 1);
      return { kind: 'aborts', keyId: keyIdArg(args[0]), clear: name === 'keys clear-aborts' };
    case 'access-keys create': {
      if (args.length === 0) {
        if (flags.algo !== undefined)
          throw new UsageError('--algo applies to an asymmetric key: name it, access-keys create <id>');
        return {
          kind: 'create-hmac-access-key',
          request: accessKeySettings(flags),
          ...(flags.out && { out: flags.out }),
        };
      }
      expectArgs(name, args, 1);
      accessKeyArg(args[0]);
      if (flags.out === undefined) throw new UsageError('access-keys create needs --out FILE for the new credentials');
      const algorithm = flags.algo === undefined ? 'ED25519' : oneOf('--algo', flags.algo, CLIENT_KEY_ALGORITHMS);
      return {
        kind: 'create-access-key',
        accessKey: args[0]!,
        algorithm,
        out: flags.out,
        settings: accessKeySettings(flags),
      };
    }
    case 'access-keys list':
      expectArgs(name, args, 0);
      return { kind: 'list-access-keys' };
    case 'access-keys rotate':
      expectArgs(name, args, 1);
      return {
        kind: 'rotate-access-key',
        accessKey: accessKeyArg(args[0]),
        ...(flags['grace-seconds'] !== undefined && {
          graceSeconds: nonNegativeInt('--grace-seconds', flags['grace-seconds']),
        }),
        ...(flags.out !== undefined && { out: flags.out }),
      };
    case 'access-keys disable':
    case 'access-keys enable':
      expectArgs(name, args, 1);
      return {
        kind: 'access-key-status',
        accessKey: accessKeyArg(args[0]),
        status: name === 'access-keys enable' ? 'ENABLED' : 'DISABLED',
      };
    case 'audit query':
      expectArgs(name, args, 0);
      return { kind: 'audit-query', query: auditQueryFrom(flags) };
    case 'audit export':
      expectArgs(name, args, 0);
      return { kind: 'audit-export', query: auditQueryFrom(flags) };
    case 'audit verify':
      expectArgs(name, args, 0);
      if (flags['public-key'] !== undefined && !/^[0-9a-f]{64}$/.test(flags['public-key'])) {
        throw new UsageError('--public-key is the 64-hex-digit Ed25519 key of the audit checkpoints');
      }
      return { kind: 'audit-verify', ...(flags['public-key'] !== undefined && { publicKey: flags['public-key'] }) };
    case 'backup create':
    case 'backup list':
      expectArgs(name, args, 0);
      return { kind: name === 'backup create' ? 'backup-create' : 'backup-list' };
    case 'backup verify':
    case 'backup restore': {
      if (args.length > 1) throw new UsageError(`"${name}" takes at most one set id`);
      const setId = args[0];
      if (setId !== undefined && !SET_ID_PATTERN.test(setId)) {
        throw new UsageError(`"${setId}" is not a backup set id (like 20261201T034000Z-1a2b3c4d)`);
      }
      const source = backupSource(name, flags);
      if (name === 'backup verify') return { kind: 'backup-verify', ...(setId && { setId }), source };
      if (flags.gateway) {
        if (flags.node !== undefined) throw new UsageError('backup restore takes --node ID or --gateway, not both');
        return { kind: 'backup-restore', ...(setId && { setId }), target: { gateway: true }, source };
      }
      if (flags.node === undefined || !NODE_ID_PATTERN.test(flags.node)) {
        throw new UsageError('backup restore needs --node ID (the node to restore, e.g. tss2) or --gateway');
      }
      return { kind: 'backup-restore', ...(setId && { setId }), target: { nodeId: flags.node }, source };
    }
    default: // 'ready': parseInvocation only passes names from FLAGS_OF_COMMAND
      expectArgs(name, args, 0);
      return { kind: 'ready' };
  }
}

/** The curve follows from the algorithm (and the algorithm from a lone --curve), so `--algo EDDSA` suffices. */
function generateCommand(flags: Flags): Command {
  const curveFlag = flags.curve === undefined ? undefined : oneOf('--curve', flags.curve, CURVES);
  const algo: Algorithm =
    flags.algo !== undefined
      ? oneOf('--algo', flags.algo, ALGORITHMS)
      : curveFlag !== undefined
        ? defaultAlgorithmOf(curveFlag)
        : 'GG18';
  const curve = curveFlag ?? CURVE_OF_ALGORITHM[algo];
  if (curve !== CURVE_OF_ALGORITHM[algo]) {
    throw new UsageError(`--algo ${algo} runs on ${CURVE_OF_ALGORITHM[algo]}, not ${curve}`);
  }
  if (flags['change-quorum'] !== undefined && flags.signers === undefined) {
    throw new UsageError('--change-quorum applies with --signers');
  }
  const shardProperties = {
    ...(flags.shards !== undefined && { shard_count: positiveInt('--shards', flags.shards) }),
    ...(flags.threshold !== undefined && { threshold: positiveInt('--threshold', flags.threshold) }),
  };
  return {
    kind: 'generate',
    request: {
      format: { type: 'ECC', curve, algo_type: algo, size: 32 },
      ...(Object.keys(shardProperties).length > 0 && { shard_properties: shardProperties }),
      ...(flags.label !== undefined && { label: flags.label }),
      ...(flags.signers !== undefined && {
        sign_policy: {
          signers: flags.signers.split(',').filter(Boolean),
          ...(flags['change-quorum'] !== undefined && {
            change_quorum: positiveInt('--change-quorum', flags['change-quorum']),
          }),
        },
      }),
    },
    ...(flags['idempotency-key'] !== undefined && { idempotencyKey: flags['idempotency-key'] }),
  };
}

function backupSource(name: string, flags: Flags): BackupSource {
  if (flags.targets === undefined) throw new UsageError(`${name} needs --targets FILE (the object stores)`);
  if (flags.identity === undefined) throw new UsageError(`${name} needs --identity FILE (the age recovery identity)`);
  return {
    targets: flags.targets,
    identity: flags.identity,
    location: flags.location === undefined ? 'primary' : oneOf('--location', flags.location, ['primary', 'dr']),
    ...(flags.ca !== undefined && { ca: flags.ca }),
    ...(flags.home !== undefined && { home: flags.home }),
  };
}

function defaultAlgorithmOf(curve: Curve): Algorithm {
  return ALGORITHMS.find((a) => CURVE_OF_ALGORITHM[a] === curve) ?? 'GG18';
}

function listCommand(flags: Flags): Command {
  if (flags.all && flags.cursor !== undefined) throw new UsageError('--all starts from the first page; drop --cursor');
  return {
    kind: 'list',
    all: flags.all ?? false,
    query: {
      ...(flags.limit !== undefined && { limit: positiveInt('--limit', flags.limit) }),
      ...(flags.label !== undefined && { label: flags.label }),
      ...(flags.status !== undefined && { status: oneOf('--status', flags.status, KEY_STATUSES) }),
      ...(flags.cursor !== undefined && { cursor: flags.cursor }),
    },
  };
}

/**
 * --data is 0x-hex (or, for EIP191 with --encoding utf8, the message text; for EIP712, inline
 * JSON); --data-file holds EIP712 typed data as JSON.
 */
function signRequestFrom(flags: Flags, readText: (path: string) => string): SignRequest {
  if (flags.type === undefined) throw new UsageError('keys sign needs --type HASH|EIP191|EIP712|RAW');
  const dataType = oneOf('--type', flags.type, DATA_TYPES);
  if (flags.encoding !== undefined && dataType !== 'EIP191') throw new UsageError('--encoding applies to EIP191 only');
  const encoding = flags.encoding === undefined ? undefined : oneOf('--encoding', flags.encoding, ['hex', 'utf8']);
  if ((flags.data === undefined) === (flags['data-file'] === undefined)) {
    throw new UsageError('keys sign needs exactly one of --data and --data-file');
  }
  const withEncoding = encoding === undefined ? {} : { encoding };
  if (dataType === 'EIP712') {
    const text = flags.data ?? readDataFile(flags['data-file']!, readText);
    return { data: typedDataFrom(text), data_type: dataType };
  }
  if (flags.data === undefined) throw new UsageError('--data-file is for EIP712 typed data; use --data');
  if (encoding !== 'utf8' && !HexDataSchema.safeParse(flags.data).success) {
    throw new UsageError('--data must be 0x-prefixed hex bytes');
  }
  return { data: flags.data, data_type: dataType, ...withEncoding };
}

function readDataFile(path: string, readText: (path: string) => string): string {
  try {
    return readText(path);
  } catch (err) {
    throw new UsageError(
      `cannot read --data-file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

function typedDataFrom(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError('EIP712 data must be a JSON object (typed data)');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError('EIP712 data must be a JSON object (typed data)');
  }
  return value as Record<string, unknown>;
}

function baseUrlFlag(value: string): string {
  if (!URL.canParse(value)) throw new UsageError(`--base-url ${value} is not a URL`);
  return value;
}

function expectArgs(name: string, args: string[], count: number): void {
  if (args.length !== count) {
    throw new UsageError(`"${name}" takes ${count} argument(s), got ${args.length}: ${args.join(' ') || '(none)'}`);
  }
}

function keyIdArg(value: string | undefined): string {
  const parsed = KeyIdSchema.safeParse(value);
  if (!parsed.success) throw new UsageError(`"${value}" is not a key id (key_ followed by 32 hex digits)`);
  return parsed.data;
}

/** Case-insensitive choice, answered in the API's spelling. */
function oneOf<T extends string>(what: string, value: string | undefined, choices: readonly T[]): T {
  const match = choices.find((c) => c.toLowerCase() === value?.toLowerCase());
  if (match === undefined) throw new UsageError(`${what} must be one of ${choices.join(', ')}, got "${value}"`);
  return match;
}

function positiveInt(what: string, value: string): number {
  if (!/^[1-9]\d*$/.test(value)) throw new UsageError(`${what} must be a positive integer, got "${value}"`);
  return Number(value);
}

function accessKeyArg(value: string | undefined): string {
  if (value === undefined || !/^[A-Za-z0-9_.-]{1,128}$/.test(value)) {
    throw new UsageError(`"${value}" is not an access key id (1-128 of [A-Za-z0-9_.-])`);
  }
  return value;
}

function nonNegativeInt(what: string, value: string): number {
  if (!/^(0|[1-9]\d*)$/.test(value)) throw new UsageError(`${what} must be a whole number, got "${value}"`);
  return Number(value);
}

/** `key_id:ID`, `label:L` or `label-prefix:P`, checked by the API's own scope schema. */
function scopeFrom(text: string): CreateAccessKeyInput['scopes'] extends (infer S)[] | undefined ? S : never {
  const colon = text.indexOf(':');
  const kind = text.slice(0, colon);
  const field =
    kind === 'key_id' ? 'key_id' : kind === 'label' ? 'label' : kind === 'label-prefix' ? 'label_prefix' : '';
  const parsed = ScopeSchema.safeParse(field ? { [field]: text.slice(colon + 1) } : undefined);
  if (colon < 0 || !parsed.success) {
    throw new UsageError(`--scope ${text}: use key_id:key_<32 hex>, label:LABEL or label-prefix:PREFIX`);
  }
  return parsed.data;
}

/** Roles, scopes, allow-list and name of a new access key, validated here so typos fail before the call. */
function accessKeySettings(flags: Flags): CreateAccessKeyInput {
  const roles = flags.roles?.split(',').map((r) => oneOf('--roles', r.trim(), ACCESS_KEY_ROLES));
  for (const cidr of flags.cidr ?? []) {
    if (!CidrSchema.safeParse(cidr).success) throw new UsageError(`--cidr ${cidr} is not an IPv4/IPv6 address or CIDR`);
  }
  return {
    ...(flags.name !== undefined && { name: flags.name }),
    ...(roles !== undefined && { roles }),
    ...(flags.scope !== undefined && { scopes: flags.scope.map(scopeFrom) }),
    ...(flags.cidr !== undefined && { allowed_cidrs: flags.cidr }),
  };
}

function auditQueryFrom(flags: Flags): AuditQueryInput {
  const query = {
    ...(flags['key-id'] !== undefined && { key_id: flags['key-id'] }),
    ...(flags.operation !== undefined && { operation: flags.operation.toUpperCase() }),
    ...(flags['access-key'] !== undefined && { access_key: flags['access-key'] }),
    ...(flags.result !== undefined && { result: flags.result.toUpperCase() }),
    ...(flags.from !== undefined && { from: flags.from }),
    ...(flags.to !== undefined && { to: flags.to }),
    ...(flags.limit !== undefined && { limit: positiveInt('--limit', flags.limit) }),
    ...(flags.cursor !== undefined && { cursor: flags.cursor }),
  };
  const parsed = AuditQuerySchema.safeParse(query);
  if (!parsed.success)
    throw new UsageError(
      parsed.error.issues.map((i) => `--${String(i.path[0]).replace('_', '-')}: ${i.message}`).join('; '),
    );
  return query as AuditQueryInput;
}
