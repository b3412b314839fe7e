/**
 * The share manifest: which key ids this node holds, at which share version, authenticated under
 * a key derived from the DEK and numbered by a counter that grows with every write. It is stored
 * in the database beside the shares and its counter is anchored in a small file outside the
 * database directory, so that a share record replaced by an older version (rollback), a deleted
 * record, and an old manifest put back are all detected, at unseal and on every read.
 *
 * Limit: someone who restores the database directory and the anchor file together from one
 * consistent copy (what a full-volume backup restore does) is not detected; that needs a counter
 * outside the node's volume.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { open, rename, readFile, unlink } from 'node:fs/promises';
import { FieldDecodeError, FieldReader, encodeFields } from './encoding.ts';

const MANIFEST_INFO = 'custos share manifest v1';
const ANCHOR_INFO = 'custos share manifest anchor v1';
const ANCHOR_MAGIC = Buffer.from('CSTA1');
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export interface Manifest {
  /** Grows by one with every write; never reused. */
  readonly counter: number;
  /** Key id -> share version. */
  readonly shares: ReadonlyMap<string, number>;
}

export class ManifestError extends Error {
  constructor(
    readonly code: 'TAMPERED' | 'ROLLED_BACK' | 'DELETED',
    message: string,
  ) {
    super(message);
    this.name = 'ManifestError';
  }
}

/** The two keys the manifest uses, derived from the DEK (HKDF-SHA-256, RFC 5869). */
export interface ManifestKeys {
  readonly seal: Buffer;
  readonly anchor: Buffer;
}

export function manifestKeys(dek: Uint8Array): ManifestKeys {
  return {
    seal: Buffer.from(hkdfSync('sha256', dek, Buffer.alloc(0), MANIFEST_INFO, 32)),
    anchor: Buffer.from(hkdfSync('sha256', dek, Buffer.alloc(0), ANCHOR_INFO, 32)),
  };
}

function manifestAad(nodeId: string): Uint8Array {
  return encodeFields(['custos-manifest-v1', nodeId]);
}

/** nonce | AES-256-GCM(counter, n, (keyId, version)*) | tag, bound to the node id. */
export function sealManifest(m: Manifest, nodeId: string, keys: ManifestKeys): Uint8Array {
  const ids = [...m.shares.keys()].sort();
  const plaintext = encodeFields([m.counter, ids.length, ...ids.flatMap((id) => [id, m.shares.get(id)!])]);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keys.seal, nonce).setAAD(manifestAad(nodeId));
  return Buffer.concat([nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

export function openManifest(sealed: Uint8Array, nodeId: string, keys: ManifestKeys): Manifest {
  if (sealed.length < NONCE_BYTES + TAG_BYTES) throw new ManifestError('TAMPERED', 'the share manifest is truncated');
  let plaintext: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', keys.seal, sealed.subarray(0, NONCE_BYTES));
    decipher.setAAD(manifestAad(nodeId)).setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    plaintext = Buffer.concat([
      decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)),
      decipher.final(),
    ]);
  } catch {
    throw new ManifestError('TAMPERED', 'the share manifest fails authentication');
  }
  try {
    const r = new FieldReader(plaintext);
    const counter = r.natural();
    const shares = new Map<string, number>();
    for (let n = r.natural(); n > 0; n--) shares.set(r.string(), r.natural());
    r.done();
    return { counter, shares };
  } catch (e) {
    if (e instanceof FieldDecodeError) throw new ManifestError('TAMPERED', `the share manifest does not decode`);
    throw e;
  }
}

function anchorMac(nodeId: string, counter: number, keys: ManifestKeys): Buffer {
  return createHmac('sha256', keys.anchor)
    .update(encodeFields(['custos-manifest-anchor-v1', nodeId, counter]))
    .digest();
}

/** `CSTA1` | u64 counter | HMAC-SHA-256 */
export function encodeAnchor(nodeId: string, counter: number, keys: ManifestKeys): Buffer {
  const c = Buffer.alloc(8);
  c.writeBigUInt64BE(BigInt(counter));
  return Buffer.concat([ANCHOR_MAGIC, c, anchorMac(nodeId, counter, keys)]);
}

/** The counter an anchor file vouches for. */
export function decodeAnchor(bytes: Uint8Array, nodeId: string, keys: ManifestKeys): number {
  const b = Buffer.from(bytes);
  if (b.length !== ANCHOR_MAGIC.length + 8 + 32 || !b.subarray(0, ANCHOR_MAGIC.length).equals(ANCHOR_MAGIC)) {
    throw new ManifestError('TAMPERED', 'the manifest anchor is malformed');
  }
  const counter = Number(b.readBigUInt64BE(ANCHOR_MAGIC.length));
  if (
    !Number.isSafeInteger(counter) ||
    !timingSafeEqual(b.subarray(ANCHOR_MAGIC.length + 8), anchorMac(nodeId, counter, keys))
  ) {
    throw new ManifestError('TAMPERED', 'the manifest anchor fails authentication');
  }
  return counter;
}

/** Reads the anchor file, or undefined when there is none. */
export async function readAnchor(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Replaces the anchor file atomically and durably (write, fsync, rename). */
export async function writeAnchor(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
}

/**
 * Checks the stored manifest against its anchor: an older counter means an old manifest was put
 * back. A newer one is the manifest of a write whose anchor update a crash interrupted.
 */
export function checkAnchor(manifest: Manifest, anchoredCounter: number): void {
  if (manifest.counter < anchoredCounter) {
    throw new ManifestError(
      'ROLLED_BACK',
      `the share manifest is number ${manifest.counter}, but number ${anchoredCounter} was written (an old manifest was restored)`,
    );
  }
}

/**
 * Compares the share records present (key id -> version read from the record) with the manifest;
 * pure. Reports the first key that was rolled back, deleted or added behind the node's back.
 */
export function checkRecords(manifest: Manifest, records: ReadonlyMap<string, number>): void {
  for (const [keyId, version] of manifest.shares) {
    const found = records.get(keyId);
    if (found === undefined) throw new ManifestError('DELETED', `the share of ${keyId} is missing (deleted)`);
    if (found !== version) {
      throw new ManifestError(
        'ROLLED_BACK',
        `the share of ${keyId} is version ${found}, the manifest says ${version} (rolled back or replaced)`,
      );
    }
  }
  for (const keyId of records.keys()) {
    if (!manifest.shares.has(keyId))
      throw new ManifestError('TAMPERED', `the share of ${keyId} is not in the manifest`);
  }
}
