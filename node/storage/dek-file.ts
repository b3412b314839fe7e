/**
 * The node's data-encryption key (DEK) at rest, wrapped by a key-encryption key (KEK) derived from
 * the unseal password, or handed over by the PKCS#11 sidecar (docs/architecture.md "State", docs/hsm.md).
 * File format, version 1 (one line of JSON):
 *
 *   {"sha256":"<hex of the body's exact bytes>","body":{"format":"custos-dek","version":1,
 *    "node_id":..., "kdf":{...params, "salt":b64}, "verifier":b64, "wrapped_dek":{"nonce":b64,"ciphertext":b64}}}
 *
 * - The KDF (scrypt, or PBKDF2-SHA-256) yields a 32-byte secret; HKDF-SHA-256 splits it into the
 *   KEK and a verifier key, so the KDF runs once. With `"kdf":{"name":"external","salt":...}` the
 *   32-byte secret is the KEK from the HSM sidecar as given: the file records which kind of secret
 *   sealed it, so a password can never open an HSM-sealed file or the reverse.
 * - verifier = HMAC-SHA-256(verifier key, header): tells a wrong password apart from a tampered
 *   wrapped DEK.
 * - wrapped_dek = AES-256-GCM(KEK, DEK) with the header (format, version, node id, KDF params and
 *   salt) as associated data.
 * - sha256 catches corruption and edits of fields the password cannot vouch for (salt, params,
 *   verifier). Someone who edits those and recomputes it makes every password look wrong: that is
 *   reported as WRONG_PASSWORD, and it can never yield a wrong DEK.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  pbkdf2,
  randomBytes,
  scrypt,
  timingSafeEqual,
} from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { z } from 'zod';
import { writeFileExclusive } from '../../common/pki/exclusive-file.ts';
import { NODE_ID_PATTERN } from '../../common/pki/identity.ts';
import { encodeFields, type Field } from './encoding.ts';

const scryptAsync = promisify(scrypt) as (
  password: Uint8Array,
  salt: Uint8Array,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;
const pbkdf2Async = promisify(pbkdf2);

export const DEK_FILE_FORMAT = 'custos-dek';
export const DEK_FILE_VERSION = 1;
const DEK_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const SALT_BYTES = 16;
const MAX_FILE_BYTES = 64 * 1024;

/** Production defaults: scrypt N=2^17, r=8, p=1 (128 MiB, a few hundred ms). */
export const DEFAULT_KDF: KdfSettings = { name: 'scrypt', N: 2 ** 17, r: 8, p: 1 };
export const MIN_PBKDF2_ITERATIONS = 600_000;
const MIN_SCRYPT_N = 2 ** 17;
const MIN_SCRYPT_R = 8;

export type UnsealErrorCode =
  | 'WRONG_PASSWORD'
  | 'WRONG_KEK'
  | 'WRONG_KIND'
  | 'TAMPERED'
  | 'MALFORMED'
  | 'NODE_MISMATCH'
  | 'MISSING'
  | 'EXISTS'
  | 'INVALID_ARGUMENT';

/** Every failure to create or open a DEK file; nothing on disk has changed when one is thrown. */
export class UnsealError extends Error {
  constructor(
    readonly code: UnsealErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'UnsealError';
  }
}

const base64 = z
  .string()
  .regex(/^[A-Za-z0-9+/]*={0,2}$/)
  .transform((s) => new Uint8Array(Buffer.from(s, 'base64')));

// Bounds keep a hostile file from making the node allocate gigabytes or spin for hours.
const SCRYPT_MAX_MEMORY = 2 ** 29;
const scryptShape = {
  name: z.literal('scrypt'),
  N: z
    .number()
    .int()
    .min(2 ** 10)
    .max(2 ** 20)
    .refine((n) => (n & (n - 1)) === 0, 'N must be a power of two'),
  r: z.number().int().min(1).max(32),
  p: z.number().int().min(1).max(4),
};
const pbkdf2Shape = {
  name: z.literal('pbkdf2-sha256'),
  iterations: z.number().int().min(1000).max(10_000_000),
};
const withinMemory = (s: { N: number; r: number }) => 128 * s.N * s.r <= SCRYPT_MAX_MEMORY;
const memoryMessage = 'scrypt parameters need more than 512 MiB';
const KdfSettingsSchema = z.discriminatedUnion('name', [
  z.strictObject(scryptShape).refine(withinMemory, memoryMessage),
  z.strictObject(pbkdf2Shape),
]);
/** Which KDF turns the password into the KEK, and its cost. */
export type KdfSettings = z.infer<typeof KdfSettingsSchema>;
/** What a file records about its secret: a password KDF, or an external (HSM) KEK. */
type FileKdf = KdfSettings | { name: 'external' };
/** What the caller unseals with; a file made with one kind refuses the other. */
type SecretKind = 'password' | 'kek';
const kindOf = (kdf: FileKdf): SecretKind => (kdf.name === 'external' ? 'kek' : 'password');

const saltBytes = base64.refine((b) => b.length >= SALT_BYTES && b.length <= 64, 'salt must be 16 to 64 bytes');
const DekFileBody = z.strictObject({
  format: z.literal(DEK_FILE_FORMAT),
  version: z.literal(DEK_FILE_VERSION),
  node_id: z.string().regex(NODE_ID_PATTERN),
  kdf: z.discriminatedUnion('name', [
    z.strictObject({ ...scryptShape, salt: saltBytes }).refine(withinMemory, memoryMessage),
    z.strictObject({ ...pbkdf2Shape, salt: saltBytes }),
    z.strictObject({ name: z.literal('external'), salt: saltBytes }),
  ]),
  verifier: base64.refine((b) => b.length === 32, 'verifier must be 32 bytes'),
  wrapped_dek: z.strictObject({
    nonce: base64.refine((b) => b.length === NONCE_BYTES, 'nonce must be 12 bytes'),
    ciphertext: base64.refine((b) => b.length === DEK_BYTES + TAG_BYTES, 'ciphertext must be 48 bytes'),
  }),
});
type DekFileBody = z.output<typeof DekFileBody>;

export interface DekFileOptions {
  /** KDF for a new file; defaults to DEFAULT_KDF. */
  readonly kdf?: KdfSettings;
  /** Accept KDF costs below the production minimum. For tests only. */
  readonly allowWeakKdf?: boolean;
}

export interface UnsealOptions extends DekFileOptions {
  /**
   * The node's share database. When the DEK file is missing but this directory holds data, a new
   * DEK would make every stored share unreadable, so unsealOrInit refuses instead of creating one.
   */
  readonly dataDir?: string;
}

/**
 * Creates a DEK file with a fresh random DEK and returns the DEK (the caller zeroes it when done).
 * Never replaces an existing file. The password stays the caller's to zero.
 */
export async function createDekFile(
  path: string,
  nodeId: string,
  password: Uint8Array,
  opts: DekFileOptions = {},
): Promise<Uint8Array> {
  assertNodeId(nodeId);
  if (password.length === 0) throw new UnsealError('INVALID_ARGUMENT', 'the unseal password is empty');
  const parsed = KdfSettingsSchema.safeParse(opts.kdf ?? DEFAULT_KDF);
  if (!parsed.success) throw new UnsealError('INVALID_ARGUMENT', `invalid KDF settings: ${parsed.error.message}`);
  const kdf = parsed.data;
  if (!opts.allowWeakKdf && isWeak(kdf)) {
    throw new UnsealError('INVALID_ARGUMENT', 'KDF cost below the production minimum');
  }
  return writeNewDekFile(path, nodeId, password, kdf);
}

/**
 * Creates a DEK file sealed by a 32-byte KEK from the HSM sidecar; otherwise as createDekFile.
 * The KEK stays the caller's to zero.
 */
export async function createDekFileWithKek(path: string, nodeId: string, kek: Uint8Array): Promise<Uint8Array> {
  assertNodeId(nodeId);
  assertKek(kek);
  return writeNewDekFile(path, nodeId, kek, { name: 'external' });
}

async function writeNewDekFile(path: string, nodeId: string, secret: Uint8Array, kdf: FileKdf): Promise<Uint8Array> {
  const salt = new Uint8Array(randomBytes(SALT_BYTES));
  const header = headerFields(nodeId, kdf, salt);
  const keys = await deriveKeys(secret, kdf, salt);
  const dek = new Uint8Array(randomBytes(DEK_BYTES));
  try {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', keys.kek, nonce);
    cipher.setAAD(encodeFields(['custos-dek-wrap', ...header]));
    const ciphertext = Buffer.concat([cipher.update(dek), cipher.final(), cipher.getAuthTag()]);
    const body = JSON.stringify({
      format: DEK_FILE_FORMAT,
      version: DEK_FILE_VERSION,
      node_id: nodeId,
      kdf: { ...kdf, salt: b64(salt) },
      verifier: b64(verifierOf(keys.verifierKey, header)),
      wrapped_dek: { nonce: b64(nonce), ciphertext: b64(ciphertext) },
    });
    const file = `{"sha256":"${sha256Hex(body)}","body":${body}}\n`;
    if (!(await writeFileExclusive(path, file, 0o600))) {
      throw new UnsealError('EXISTS', `${path} already exists; refusing to replace a DEK file`);
    }
    return dek;
  } catch (err) {
    dek.fill(0);
    throw err;
  } finally {
    keys.kek.fill(0);
    keys.verifierKey.fill(0);
  }
}

/** Opens a DEK file and returns the 32-byte DEK (the caller zeroes it when done). Read-only. */
export async function openDekFile(
  path: string,
  nodeId: string,
  password: Uint8Array,
  opts: Pick<DekFileOptions, 'allowWeakKdf'> = {},
): Promise<Uint8Array> {
  return openWith(path, nodeId, password, 'password', opts.allowWeakKdf ?? false);
}

/** Opens a DEK file sealed by an HSM KEK and returns the DEK (the caller zeroes it when done). Read-only. */
export async function openDekFileWithKek(path: string, nodeId: string, kek: Uint8Array): Promise<Uint8Array> {
  assertKek(kek);
  return openWith(path, nodeId, kek, 'kek', false);
}

async function openWith(
  path: string,
  nodeId: string,
  secret: Uint8Array,
  kind: SecretKind,
  allowWeakKdf: boolean,
): Promise<Uint8Array> {
  assertNodeId(nodeId);
  const body = parseDekFile(await readDekFile(path), path);
  if (body.node_id !== nodeId) {
    throw new UnsealError('NODE_MISMATCH', `${path} belongs to node ${body.node_id}, not ${nodeId}`);
  }
  const { salt, ...kdf } = body.kdf;
  if (kindOf(kdf) !== kind) {
    const sealedBy = kdf.name === 'external' ? 'an HSM KEK' : 'a password';
    const given = kind === 'kek' ? 'an HSM KEK' : 'a password';
    throw new UnsealError('WRONG_KIND', `${path} was sealed with ${sealedBy}, but this node unseals with ${given}`);
  }
  if (kdf.name !== 'external' && !allowWeakKdf && isWeak(kdf)) {
    throw new UnsealError('MALFORMED', `${path}: KDF cost below the minimum`);
  }
  const header = headerFields(nodeId, kdf, salt);
  const keys = await deriveKeys(secret, kdf, salt);
  try {
    if (!timingSafeEqual(verifierOf(keys.verifierKey, header), body.verifier)) {
      throw kind === 'kek'
        ? new UnsealError('WRONG_KEK', `the HSM KEK does not open the DEK file of node ${nodeId}`)
        : new UnsealError('WRONG_PASSWORD', `wrong unseal password for node ${nodeId}`);
    }
    const { nonce, ciphertext } = body.wrapped_dek;
    const decipher = createDecipheriv('aes-256-gcm', keys.kek, nonce);
    decipher.setAAD(encodeFields(['custos-dek-wrap', ...header]));
    decipher.setAuthTag(ciphertext.subarray(DEK_BYTES));
    const plain = decipher.update(ciphertext.subarray(0, DEK_BYTES));
    try {
      decipher.final();
      return new Uint8Array(plain);
    } catch {
      throw new UnsealError('TAMPERED', `${path}: the wrapped DEK fails authentication`);
    } finally {
      plain.fill(0);
    }
  } finally {
    keys.kek.fill(0);
    keys.verifierKey.fill(0);
  }
}

/** The DEK: from the existing file, or from a new one on a node's first start. */
export async function unsealOrInit(
  path: string,
  nodeId: string,
  password: Uint8Array,
  opts: UnsealOptions = {},
): Promise<Uint8Array> {
  return openOrCreate(
    () => openDekFile(path, nodeId, password, opts),
    () => createDekFile(path, nodeId, password, opts),
    path,
    opts.dataDir,
  );
}

/** unsealOrInit for a node whose KEK comes from the HSM sidecar. */
export async function unsealOrInitWithKek(
  path: string,
  nodeId: string,
  kek: Uint8Array,
  opts: Pick<UnsealOptions, 'dataDir'> = {},
): Promise<Uint8Array> {
  return openOrCreate(
    () => openDekFileWithKek(path, nodeId, kek),
    () => createDekFileWithKek(path, nodeId, kek),
    path,
    opts.dataDir,
  );
}

async function openOrCreate(
  open: () => Promise<Uint8Array>,
  create: () => Promise<Uint8Array>,
  path: string,
  dataDir: string | undefined,
): Promise<Uint8Array> {
  try {
    return await open();
  } catch (err) {
    if (!(err instanceof UnsealError) || err.code !== 'MISSING') throw err;
  }
  if (dataDir !== undefined && (await hasEntries(dataDir))) {
    throw new UnsealError('MISSING', `${path} is missing but ${dataDir} holds data; restore the DEK file`);
  }
  return create();
}

function assertNodeId(nodeId: string): void {
  if (!NODE_ID_PATTERN.test(nodeId)) throw new UnsealError('INVALID_ARGUMENT', `invalid node id ${nodeId}`);
}

function assertKek(kek: Uint8Array): void {
  if (kek.length !== 32) throw new UnsealError('INVALID_ARGUMENT', `the KEK must be 32 bytes, not ${kek.length}`);
}

function isWeak(kdf: KdfSettings): boolean {
  return kdf.name === 'scrypt' ? kdf.N < MIN_SCRYPT_N || kdf.r < MIN_SCRYPT_R : kdf.iterations < MIN_PBKDF2_ITERATIONS;
}

async function readDekFile(path: string): Promise<string> {
  try {
    if ((await stat(path)).size > MAX_FILE_BYTES) throw new UnsealError('MALFORMED', `${path} is too large`);
    return await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof UnsealError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UnsealError('MISSING', `${path} does not exist`);
    throw new UnsealError('MALFORMED', `${path} cannot be read (${code ?? (err as Error).message})`);
  }
}

const ENVELOPE = /^\{"sha256":"([0-9a-f]{64})","body":(.*)\}\n?$/s;

function parseDekFile(text: string, path: string): DekFileBody {
  const envelope = ENVELOPE.exec(text);
  if (!envelope) throw new UnsealError('MALFORMED', `${path} is not a Custos DEK file`);
  const [, checksum, body] = envelope as unknown as [string, string, string];
  if (!timingSafeEqual(Buffer.from(sha256Hex(body), 'hex'), Buffer.from(checksum, 'hex'))) {
    throw new UnsealError('TAMPERED', `${path} does not match its checksum`);
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new UnsealError('MALFORMED', `${path}: the body is not JSON`);
  }
  const parsed = DekFileBody.safeParse(json);
  if (!parsed.success) throw new UnsealError('MALFORMED', `${path}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

function headerFields(nodeId: string, kdf: FileKdf, salt: Uint8Array): Field[] {
  const params = kdf.name === 'scrypt' ? [kdf.N, kdf.r, kdf.p] : kdf.name === 'pbkdf2-sha256' ? [kdf.iterations] : [];
  return [DEK_FILE_FORMAT, DEK_FILE_VERSION, nodeId, kdf.name, ...params, salt];
}

/** The wrapping key and verifier key; `secret` is the password, or for 'external' the HSM KEK. */
async function deriveKeys(
  secret: Uint8Array,
  kdf: FileKdf,
  salt: Uint8Array,
): Promise<{ kek: Uint8Array; verifierKey: Uint8Array }> {
  const master =
    kdf.name === 'scrypt'
      ? await scryptAsync(secret, salt, 32, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: 256 * kdf.N * kdf.r * kdf.p })
      : kdf.name === 'pbkdf2-sha256'
        ? await pbkdf2Async(secret, salt, kdf.iterations, 32, 'sha256')
        : Buffer.from(secret);
  try {
    return {
      kek: new Uint8Array(hkdfSync('sha256', master, salt, 'custos dek kek v1', 32)),
      verifierKey: new Uint8Array(hkdfSync('sha256', master, salt, 'custos dek verifier v1', 32)),
    };
  } finally {
    master.fill(0);
  }
}

function verifierOf(verifierKey: Uint8Array, header: readonly Field[]): Buffer {
  return createHmac('sha256', verifierKey)
    .update(encodeFields(['custos-dek-verifier', ...header]))
    .digest();
}

async function hasEntries(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length > 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}
