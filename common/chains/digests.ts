/**
 * The bytes each sign request's `data_type` signs. ECDSA keys sign a 32-byte digest: HASH as
 * given, EIP191 personal messages, EIP712 typed data. EdDSA and BLS keys sign RAW bytes as given.
 * The zod schemas here validate the gateway's sign requests and feed its OpenAPI document.
 */
import { keccak_256 } from '@noble/hashes/sha3.js';
import { concatBytes, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { hashTypedData } from 'viem';
import { z } from 'zod';
import type { DataType } from '../api/schemas.ts';
import { InvalidSignDataError } from './errors.ts';
import { checkTypedData, TypedDataSchema } from './typed-data.ts';

export { InvalidSignDataError } from './errors.ts';
export { TypedDataSchema, type TypedData } from './typed-data.ts';

/** Largest RAW (and EIP191) payload accepted, in bytes. */
export const MAX_SIGN_DATA_BYTES = 64 * 1024;
const HEX_BYTES = /^0x(?:[0-9a-fA-F]{2})*$/;

/** Names the keys a data type does not take (typically `encoding`, which only EIP191 reads). */
function unknownKeysError(dataType: DataType) {
  return (issue: { code?: string; keys?: string[] }) =>
    issue.code === 'unrecognized_keys'
      ? `${(issue.keys ?? []).join(', ')} not allowed with data_type ${dataType} (encoding applies to EIP191 only)`
      : undefined;
}

export const Hash32Schema = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, 'HASH data must be exactly 32 bytes as 0x-hex (0x followed by 64 hex digits)')
  .describe('32-byte digest, 0x-hex');

export const RawDataSchema = z
  .string()
  .regex(HEX_BYTES, 'RAW data must be 0x-prefixed hex with an even number of digits')
  .max(2 + 2 * MAX_SIGN_DATA_BYTES, `RAW data must be at most ${MAX_SIGN_DATA_BYTES} bytes`)
  .describe(`bytes to sign, 0x-hex, at most ${MAX_SIGN_DATA_BYTES} bytes`);

export const Eip191EncodingSchema = z
  .enum(['hex', 'utf8'])
  .describe('EIP191 only: `hex` (default) reads data as 0x-hex bytes, `utf8` as text');
export type Eip191Encoding = z.infer<typeof Eip191EncodingSchema>;

export const HashSignDataSchema = z.strictObject(
  { data_type: z.literal('HASH'), data: Hash32Schema },
  { error: unknownKeysError('HASH') },
);

export const Eip191SignDataSchema = z
  .strictObject({
    data_type: z.literal('EIP191'),
    data: z
      .string()
      .max(2 + 2 * MAX_SIGN_DATA_BYTES, `EIP191 data must be at most ${MAX_SIGN_DATA_BYTES} bytes`)
      .describe('the message: 0x-hex bytes, or text when encoding is utf8'),
    encoding: Eip191EncodingSchema.optional(),
  })
  .superRefine((req, ctx) => {
    if (req.encoding === 'utf8') {
      if (utf8ToBytes(req.data).length > MAX_SIGN_DATA_BYTES) {
        ctx.addIssue({
          code: 'custom',
          path: ['data'],
          message: `EIP191 data must be at most ${MAX_SIGN_DATA_BYTES} bytes`,
        });
      }
    } else if (!HEX_BYTES.test(req.data)) {
      ctx.addIssue({
        code: 'custom',
        path: ['data'],
        message: 'EIP191 data must be 0x-prefixed hex bytes; to sign text, send "encoding": "utf8"',
      });
    }
  });

/**
 * EIP712 `data` as an object, or as the JSON string `eth_signTypedData_v4` passes around; the
 * string is parsed and then validated exactly like the object.
 */
export const Eip712DataSchema = z.preprocess((value, ctx) => {
  if (typeof value !== 'string') return value;
  if (value.length > 2 * MAX_SIGN_DATA_BYTES) {
    ctx.addIssue({
      code: 'custom',
      input: value,
      message: `EIP712 data must be at most ${2 * MAX_SIGN_DATA_BYTES} characters`,
    });
    return z.NEVER;
  }
  try {
    return JSON.parse(value) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', input: value, message: 'EIP712 data given as a string must be JSON typed data' });
    return z.NEVER;
  }
}, TypedDataSchema);

export const Eip712SignDataSchema = z.strictObject(
  { data_type: z.literal('EIP712'), data: Eip712DataSchema },
  { error: unknownKeysError('EIP712') },
);

export const RawSignDataSchema = z.strictObject(
  { data_type: z.literal('RAW'), data: RawDataSchema },
  { error: unknownKeysError('RAW') },
);

/** A sign request's `data_type`, `data` and `encoding`, validated per data type. */
export const SignDataSchema = z.discriminatedUnion(
  'data_type',
  [HashSignDataSchema, Eip191SignDataSchema, Eip712SignDataSchema, RawSignDataSchema],
  { error: 'data_type must be one of HASH, EIP191, EIP712, RAW' },
);
export type SignData = z.infer<typeof SignDataSchema>;

function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

/** All problems, `; `-separated, each prefixed with where it is, e.g. `data.message.to.wallet: expected an address…`. */
export function describeIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues
    .map((issue) => {
      const where = formatPath(issue.path);
      return where ? `${where}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

/** EIP-191 version 0x45 (personal_sign): keccak256("\x19Ethereum Signed Message:\n" ‖ decimal length ‖ message). */
export function eip191Digest(message: Uint8Array): Uint8Array {
  const prefix = utf8ToBytes(`\x19Ethereum Signed Message:\n${message.length}`);
  return keccak_256(concatBytes(prefix, message));
}

export function eip712Digest(data: z.infer<typeof TypedDataSchema>): Uint8Array {
  const { issues, value } = checkTypedData(data);
  if (issues.length > 0)
    throw new InvalidSignDataError(describeIssues(issues.map((i) => ({ ...i, path: ['data', ...i.path] }))));
  try {
    return hexToBytes(hashTypedData<Record<string, unknown>, string>(value).slice(2));
  } catch (err) {
    const viemMessage = (err as { shortMessage?: string }).shortMessage ?? (err as Error).message;
    throw new InvalidSignDataError(`EIP712 data cannot be encoded: ${viemMessage}`);
  }
}

/** The validated request's bytes to sign: a 32-byte digest for HASH/EIP191/EIP712, the bytes themselves for RAW. */
export function bytesToSign(req: SignData): Uint8Array {
  switch (req.data_type) {
    case 'HASH':
    case 'RAW':
      return hexToBytes(req.data.slice(2));
    case 'EIP191':
      return eip191Digest(req.encoding === 'utf8' ? utf8ToBytes(req.data) : hexToBytes(req.data.slice(2)));
    case 'EIP712':
      return eip712Digest(req.data);
  }
}

/**
 * Validates `data` for `dataType` and returns what the key signs; throws InvalidSignDataError
 * naming each problem and where it is.
 */
export function digestFor(dataType: DataType, data: unknown, encoding?: Eip191Encoding): Uint8Array {
  const parsed = SignDataSchema.safeParse(
    encoding === undefined ? { data_type: dataType, data } : { data_type: dataType, data, encoding },
  );
  if (!parsed.success) throw new InvalidSignDataError(describeIssues(parsed.error.issues));
  return bytesToSign(parsed.data);
}
