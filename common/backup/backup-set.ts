/**
 * Writing, listing, verifying and pruning backup sets in object storage. A set is
 * `<set id>/<file>.age` for every file plus `<set id>/manifest.json` and `<set id>/manifest.sig`,
 * uploaded last: a set without a manifest is incomplete and never restored from.
 */
import { Decrypter, Encrypter } from 'age-encryption';
import { randomBytes, type KeyObject } from 'node:crypto';
import type { ClusterScope } from '../pki/identity.ts';
import { BackupError } from './errors.ts';
import {
  checkPlaintext,
  checkStoredFile,
  SET_ID_PATTERN,
  sha256Hex,
  signManifest,
  verifyManifest,
  type BackupFile,
  type BackupManifest,
} from './manifest.ts';
import type { ObjectStore } from './object-store.ts';

const MANIFEST = 'manifest.json';
const SIGNATURE = 'manifest.sig';

export interface PlainFile {
  readonly name: BackupFile['name'];
  readonly kind: BackupFile['kind'];
  readonly nodeId?: string;
  readonly bytes: Uint8Array;
}

export interface SetSigner {
  readonly key: KeyObject;
  readonly certificatePem: string;
  readonly cluster: ClusterScope;
}

/** `20261201T034000Z-1a2b3c4d`: sorts by time. */
export function newSetId(now: Date): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(4).toString('hex')}`;
}

/** When the set was made, from its id. */
export function setTime(setId: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(setId);
  if (!m) throw new BackupError('MALFORMED', `invalid backup set id ${setId}`);
  return new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
}

/** Encrypts every file to the recipients and signs the manifest; uploads nothing. */
export async function sealSet(
  setId: string,
  files: readonly PlainFile[],
  recipients: readonly string[],
  signer: SetSigner,
  now: Date,
): Promise<{ objects: Map<string, Uint8Array>; manifest: BackupManifest }> {
  const encrypter = new Encrypter();
  for (const r of recipients) encrypter.addRecipient(r);
  const objects = new Map<string, Uint8Array>();
  const entries: BackupFile[] = [];
  for (const f of files) {
    const sealed = await encrypter.encrypt(f.bytes);
    objects.set(`${setId}/${f.name}`, sealed);
    entries.push({
      name: f.name,
      kind: f.kind,
      ...(f.nodeId ? { node_id: f.nodeId } : {}),
      sha256: sha256Hex(sealed),
      size: sealed.length,
      plaintext_sha256: sha256Hex(f.bytes),
      plaintext_size: f.bytes.length,
    });
  }
  const manifest: BackupManifest = {
    format: 1,
    set_id: setId,
    created_at: now.toISOString(),
    cluster: { namespace: signer.cluster.namespace, cluster: signer.cluster.cluster },
    database: 'sqlite',
    recipients: [...recipients],
    gateway_certificate: signer.certificatePem,
    files: entries,
  };
  const { bytes, signature } = signManifest(manifest, signer.key);
  objects.set(`${setId}/${MANIFEST}`, bytes);
  objects.set(`${setId}/${SIGNATURE}`, signature);
  return { objects, manifest };
}

/** Uploads a sealed set, manifest last. */
export async function uploadSet(store: ObjectStore, objects: ReadonlyMap<string, Uint8Array>): Promise<void> {
  const last = [...objects.keys()].filter((k) => k.endsWith(`/${MANIFEST}`) || k.endsWith(`/${SIGNATURE}`));
  for (const [key, body] of objects) if (!last.includes(key)) await store.put(key, body);
  for (const key of last.sort().reverse()) await store.put(key, objects.get(key)!);
}

export interface SetSummary {
  readonly setId: string;
  readonly createdAt: string;
  readonly complete: boolean;
  readonly sizeBytes: number;
  readonly objects: number;
}

/** Every set in the store, oldest first. */
export async function listSets(store: ObjectStore): Promise<SetSummary[]> {
  const bySet = new Map<string, { size: number; objects: number; manifest: boolean; signature: boolean }>();
  for (const o of await store.list('')) {
    const [setId, file] = o.key.split('/', 2);
    if (!setId || !file || !SET_ID_PATTERN.test(setId)) continue;
    const s = bySet.get(setId) ?? { size: 0, objects: 0, manifest: false, signature: false };
    s.size += o.size;
    s.objects += 1;
    s.manifest ||= file === MANIFEST;
    s.signature ||= file === SIGNATURE;
    bySet.set(setId, s);
  }
  return [...bySet]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([setId, s]) => ({
      setId,
      createdAt: setTime(setId).toISOString(),
      complete: s.manifest && s.signature,
      sizeBytes: s.size,
      objects: s.objects,
    }));
}

/** The newest complete set, or undefined. */
export async function latestSet(store: ObjectStore): Promise<string | undefined> {
  return (await listSets(store)).filter((s) => s.complete).at(-1)?.setId;
}

/** Sets older than the retention to delete, always keeping the newest complete one; pure. */
export function expiredSets(sets: readonly SetSummary[], retentionDays: number, now: Date): string[] {
  const newestComplete = sets.filter((s) => s.complete).at(-1)?.setId;
  const cutoff = now.getTime() - retentionDays * 86_400_000;
  return sets.filter((s) => s.setId !== newestComplete && Date.parse(s.createdAt) < cutoff).map((s) => s.setId);
}

/** Deletes the expired sets; returns their ids. */
export async function pruneSets(store: ObjectStore, retentionDays: number, now: Date): Promise<string[]> {
  const expired = expiredSets(await listSets(store), retentionDays, now);
  for (const setId of expired) {
    const keys = (await store.list(`${setId}/`)).map((o) => o.key);
    await store.delete(keys);
  }
  return expired;
}

export interface VerifyOptions {
  readonly caPem: string | Uint8Array;
  /** The cluster restoring; omitted: any cluster under this CA. */
  readonly expected?: ClusterScope;
  /** age identities (`AGE-SECRET-KEY-1...`) that decrypt. */
  readonly identities: readonly string[];
  /** Only these files are downloaded and decrypted (all others still must be listed). */
  readonly only?: (file: BackupFile) => boolean;
}

/**
 * Downloads a set and checks everything: the manifest's signature and signer, every object's
 * size and SHA-256, and that each decrypts with the identities to the plaintext the manifest
 * hashed. Returns the plaintexts by file name; throws BackupError at the first fault.
 */
export async function readVerifiedSet(
  store: ObjectStore,
  setId: string,
  opts: VerifyOptions,
): Promise<{ manifest: BackupManifest; files: Map<string, Uint8Array> }> {
  if (!SET_ID_PATTERN.test(setId)) throw new BackupError('MALFORMED', `invalid backup set id ${setId}`);
  const [bytes, signature] = await Promise.all([store.get(`${setId}/${MANIFEST}`), store.get(`${setId}/${SIGNATURE}`)]);
  if (!bytes || !signature) {
    throw new BackupError('INCOMPLETE', `backup set ${setId} has no signed manifest in ${store.name}`);
  }
  const manifest = verifyManifest(bytes, signature, opts.caPem, opts.expected);
  if (manifest.set_id !== setId) {
    throw new BackupError('TAMPERED', `the manifest under ${setId} describes set ${manifest.set_id}`);
  }
  const decrypter = new Decrypter();
  for (const id of opts.identities) decrypter.addIdentity(id);
  const files = new Map<string, Uint8Array>();
  for (const file of manifest.files.filter(opts.only ?? (() => true))) {
    const sealed = await store.get(`${setId}/${file.name}`);
    if (!sealed) throw new BackupError('INCOMPLETE', `${file.name} is missing from set ${setId} in ${store.name}`);
    checkStoredFile(file, sealed);
    let plain: Uint8Array;
    try {
      plain = await decrypter.decrypt(sealed);
    } catch (err) {
      throw new BackupError(
        'DECRYPT_FAILED',
        `${file.name} does not decrypt with the given recovery identity: ${(err as Error).message}`,
      );
    }
    checkPlaintext(file, plain);
    files.set(file.name, plain);
  }
  return { manifest, files };
}
