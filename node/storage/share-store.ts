/**
 * A node's key shares at rest (docs/architecture.md "State"): classic-level (LevelDB) keyed by key id, every
 * value AES-256-GCM under the DEK with a fresh 96-bit nonce and associated data binding the key id,
 * this node's id and the share version. A value that was altered, moved to another key id or copied
 * from another node's database fails authentication and is reported, never returned.
 *
 * Layout of the database:
 *   share/<keyId>    0x01 | u32 share version | nonce(12) | ciphertext | tag(16)
 *   staged/<keyId>   same as share/: a refreshed share written but not yet in use (docs/key-lifecycle.md)
 *   secret/<name>    0x01 | nonce(12) | ciphertext | tag(16)     (e.g. pre-generated Paillier keys)
 *   meta/dek-check   0x01 | nonce(12) | ciphertext | tag(16)     (proves the DEK belongs to this DB)
 *   session/<id>     0x01 | nonce(12) | ciphertext | tag(16)     (a session id seen, until when; node/session/seen-sessions.ts)
 *   meta/manifest    0x01 | nonce(12) | ciphertext | tag(16)     (key ids and share versions, counter; manifest.ts)
 *   tomb/<keyId>     0x01 | nonce(12) | ciphertext | tag(16)     (a destroyed key: when; no share is ever taken for it again)
 *
 * The manifest's counter is anchored in `<dir>.anchor`, outside the database directory. A share
 * rolled back to an older version, a deleted share and an old manifest put back are refused at
 * open (unseal) and on read with ROLLED_BACK, DELETED or TAMPERED, never served.
 *
 * The share version sits in clear before the nonce because it is part of the associated data and
 * must be known before decryption; everything else about a share is encrypted.
 */
import { ClassicLevel } from 'classic-level';
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { z } from 'zod';
import {
  canonicalPolicy,
  GATEWAY_TRUSTED_POLICY,
  SignPolicySchema,
  type SignPolicy,
} from '../../common/authz/client-keys.ts';
import { NODE_ID_PATTERN } from '../../common/pki/identity.ts';
import { FieldDecodeError, FieldReader, encodeFields } from './encoding.ts';
import {
  ManifestError,
  checkAnchor,
  checkRecords,
  decodeAnchor,
  encodeAnchor,
  manifestKeys,
  openManifest,
  readAnchor,
  sealManifest,
  writeAnchor,
  type Manifest,
  type ManifestKeys,
} from './manifest.ts';

const FORMAT = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const SHARE_PREFIX = 'share/';
/** A share version prepared by a refresh; the manifest lists it as `staged/<keyId>`. */
const STAGED_PREFIX = 'staged/';
const SECRET_PREFIX = 'secret/';
const SESSION_PREFIX = 'session/';
const TOMB_PREFIX = 'tomb/';
const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{8,128}$/;
const DEK_CHECK_KEY = 'meta/dek-check';
const MANIFEST_KEY = 'meta/manifest';
const DEK_CHECK_PLAINTEXT = new TextEncoder().encode('custos share store v1');

/** Key ids and secret names: they become LevelDB keys, so a plain, bounded alphabet. */
export const STORE_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

const bytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'expected bytes');
export const ShareRecordSchema = z
  .strictObject({
    keyId: z.string().regex(STORE_KEY_PATTERN),
    algo: z.string().min(1).max(32),
    version: z.number().int().min(0).max(0xffff_ffff),
    threshold: z.number().int().min(1).max(255),
    holders: z.array(z.string().regex(NODE_ID_PATTERN)).min(1).max(255),
    publicKey: bytes,
    publicInfo: bytes,
    secretShare: bytes,
    /** Which client keys may sign (fixed at keygen); absent or without signers: the key trusts the gateway. */
    signPolicy: SignPolicySchema.optional(),
  })
  .refine((r) => r.threshold <= r.holders.length, 'threshold exceeds the number of holders')
  .refine((r) => new Set(r.holders).size === r.holders.length, 'holders must be distinct');
/** One key's share at this node. `secretShare` is secret: zero it once used. */
export type ShareRecord = z.infer<typeof ShareRecordSchema>;

export type ShareStoreErrorCode =
  'TAMPERED' | 'ROLLED_BACK' | 'DELETED' | 'DESTROYED' | 'WRONG_KEY' | 'LOCKED' | 'INVALID_ARGUMENT';

export class ShareStoreError extends Error {
  constructor(
    readonly code: ShareStoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ShareStoreError';
  }
}

export interface ShareStoreOptions {
  /** Where the manifest counter is anchored (default `<dir>.anchor`), outside the database. */
  readonly anchorPath?: string;
}

export class ShareStore {
  private manifest: Manifest = { counter: 0, shares: new Map() };
  /** Share writes, one at a time: each one rewrites the manifest. */
  private writes: Promise<unknown> = Promise.resolve();
  /** The share being written: a read may see it on disk just before the manifest in memory does. */
  private inFlight: { keyId: string; version: number } | undefined;
  /** Destroyed key ids -> when (Unix ms), loaded at open. */
  private tombstones = new Map<string, number>();

  private constructor(
    private readonly db: ClassicLevel<string, Uint8Array>,
    readonly nodeId: string,
    private readonly key: KeyObject,
    private readonly manifestKeys: ManifestKeys,
    private readonly anchorPath: string,
  ) {}

  /**
   * Opens (creating if needed) the database in `dir` for `nodeId`. The DEK is copied into a key
   * object; the caller keeps, and zeroes, its own buffer. Fails with LOCKED when another process
   * has the database open, and WRONG_KEY when the DEK is not the one the database was created with.
   */
  static async open(
    dir: string,
    nodeId: string,
    dek: Uint8Array,
    options: ShareStoreOptions = {},
  ): Promise<ShareStore> {
    if (!NODE_ID_PATTERN.test(nodeId)) throw new ShareStoreError('INVALID_ARGUMENT', `invalid node id ${nodeId}`);
    if (dek.length !== 32) throw new ShareStoreError('INVALID_ARGUMENT', 'the DEK must be 32 bytes');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const db = new ClassicLevel<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
    try {
      await db.open();
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause;
      if (cause?.code === 'LEVEL_LOCKED') {
        throw new ShareStoreError('LOCKED', `${dir} is in use by another process`, { cause: err });
      }
      throw err;
    }
    const anchorPath = options.anchorPath ?? `${dir.replace(/\/+$/, '')}.anchor`;
    const store = new ShareStore(db, nodeId, createSecretKey(dek), manifestKeys(dek), anchorPath);
    try {
      await store.checkDek();
      await store.loadManifest();
      await store.loadTombstones();
    } catch (err) {
      await db.close();
      throw err;
    }
    return store;
  }

  /**
   * Stores (or replaces, e.g. after a refresh) this node's share of `record.keyId`, and the
   * manifest entry for it in the same atomic write. A version older than the stored one is refused.
   */
  async put(record: ShareRecord): Promise<void> {
    const parsed = ShareRecordSchema.safeParse(record);
    if (!parsed.success) throw new ShareStoreError('INVALID_ARGUMENT', z.prettifyError(parsed.error));
    const r = parsed.data;
    if (!r.holders.includes(this.nodeId)) {
      throw new ShareStoreError('INVALID_ARGUMENT', `node ${this.nodeId} is not a holder of ${r.keyId}`);
    }
    return this.serialised(() => this.writeShare(r, SHARE_PREFIX));
  }

  /**
   * Writes a refreshed share beside the one in use (phase one of a refresh's two-phase commit). It
   * is not used until `activate` names its version; a later stage replaces it.
   */
  async stage(record: ShareRecord): Promise<void> {
    const parsed = ShareRecordSchema.safeParse(record);
    if (!parsed.success) throw new ShareStoreError('INVALID_ARGUMENT', z.prettifyError(parsed.error));
    const r = parsed.data;
    if (!r.holders.includes(this.nodeId)) {
      throw new ShareStoreError('INVALID_ARGUMENT', `node ${this.nodeId} is not a holder of ${r.keyId}`);
    }
    return this.serialised(async () => {
      const active = this.manifest.shares.get(r.keyId);
      if (active === undefined) throw new ShareStoreError('INVALID_ARGUMENT', `no share of ${r.keyId} to refresh`);
      if (r.version <= active) {
        throw new ShareStoreError(
          'INVALID_ARGUMENT',
          `staged version ${r.version} of ${r.keyId} is not above ${active}`,
        );
      }
      await this.writeShare(r, STAGED_PREFIX);
    });
  }

  /** The version staged for `keyId`, if any. */
  stagedVersion(keyId: string): number | undefined {
    assertStoreKey(keyId);
    return this.manifest.shares.get(STAGED_PREFIX + keyId);
  }

  /** The version in use for `keyId`, if any. */
  activeVersion(keyId: string): number | undefined {
    assertStoreKey(keyId);
    return this.manifest.shares.get(keyId);
  }

  /**
   * Phase two: the staged `version` becomes the share in use and the old one is erased, in one
   * atomic write. Idempotent: activating the version already in use does nothing.
   */
  async activate(keyId: string, version: number): Promise<'activated' | 'already-active'> {
    assertStoreKey(keyId);
    return this.serialised(async () => {
      if (this.manifest.shares.get(keyId) === version && this.stagedVersion(keyId) === undefined) {
        return 'already-active';
      }
      if (this.stagedVersion(keyId) !== version) {
        throw new ShareStoreError('INVALID_ARGUMENT', `version ${version} of ${keyId} is neither staged nor in use`);
      }
      const value = await this.db.get(STAGED_PREFIX + keyId);
      if (value === undefined)
        throw new ShareStoreError('DELETED', `the staged share of ${keyId} is missing (deleted)`);
      const shares = new Map(this.manifest.shares);
      shares.set(keyId, version);
      shares.delete(STAGED_PREFIX + keyId);
      const next: Manifest = { counter: this.manifest.counter + 1, shares };
      this.inFlight = { keyId, version };
      try {
        // The staged record is sealed with the same associated data (key id, node id, version).
        await this.commitBatch(
          [
            { type: 'put', key: SHARE_PREFIX + keyId, value },
            { type: 'del', key: STAGED_PREFIX + keyId },
          ],
          next,
        );
      } finally {
        this.inFlight = undefined;
      }
      return 'activated';
    });
  }

  /** Drops a staged `version` (the refresh was abandoned); nothing happens when it is not staged. */
  async discard(keyId: string, version: number): Promise<boolean> {
    assertStoreKey(keyId);
    return this.serialised(async () => {
      if (this.stagedVersion(keyId) !== version) return false;
      const shares = new Map(this.manifest.shares);
      shares.delete(STAGED_PREFIX + keyId);
      await this.commitBatch([{ type: 'del', key: STAGED_PREFIX + keyId }], {
        counter: this.manifest.counter + 1,
        shares,
      });
      return true;
    });
  }

  /** The share of `keyId` at exactly `version`: the one in use, or the staged one. */
  async getVersion(keyId: string, version: number): Promise<ShareRecord | undefined> {
    assertStoreKey(keyId);
    if (this.manifest.shares.get(keyId) === version) return this.get(keyId);
    if (this.stagedVersion(keyId) === version) return this.readRecord(STAGED_PREFIX, keyId);
    return undefined;
  }

  private serialised<T>(step: () => Promise<T>): Promise<T> {
    const write = this.writes.then(step);
    this.writes = write.catch(() => {});
    return write;
  }

  /** One atomic, synced batch with the new manifest, then the anchor. */
  private async commitBatch(
    ops: ({ type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string })[],
    next: Manifest,
  ): Promise<void> {
    await this.db.batch([...ops, { type: 'put', key: MANIFEST_KEY, value: this.sealedManifest(next) }], {
      sync: true,
    });
    this.manifest = next;
    // A crash before this line leaves the anchor one behind, which open accepts.
    await writeAnchor(this.anchorPath, encodeAnchor(this.nodeId, next.counter, this.manifestKeys));
  }

  private async writeShare(r: ShareRecord, prefix: string): Promise<void> {
    if (this.tombstones.has(r.keyId)) throw destroyed(r.keyId);
    const current = this.manifest.shares.get(r.keyId);
    if (current !== undefined && r.version < current) {
      throw new ShareStoreError('INVALID_ARGUMENT', `share ${r.keyId} version ${r.version} is older than ${current}`);
    }
    const name = prefix === SHARE_PREFIX ? r.keyId : prefix + r.keyId;
    const plaintext = encodeFields([
      r.algo,
      r.threshold,
      r.holders.length,
      ...r.holders,
      r.publicKey,
      r.publicInfo,
      r.secretShare,
      canonicalPolicy(r.signPolicy ?? GATEWAY_TRUSTED_POLICY),
    ]);
    try {
      const header = new Uint8Array(5);
      header[0] = FORMAT;
      new DataView(header.buffer).setUint32(1, r.version);
      const sealed = this.encrypt(plaintext, this.shareAad(r.keyId, r.version));
      const next: Manifest = {
        counter: this.manifest.counter + 1,
        shares: new Map([...this.manifest.shares, [name, r.version]]),
      };
      if (prefix === SHARE_PREFIX) this.inFlight = { keyId: r.keyId, version: r.version };
      await this.commitBatch([{ type: 'put', key: prefix + r.keyId, value: concat(header, sealed) }], next);
    } finally {
      this.inFlight = undefined;
      plaintext.fill(0);
    }
  }

  /** This node's share of `keyId`, or undefined when it holds none. Throws TAMPERED, never a wrong share. */
  async get(keyId: string): Promise<ShareRecord | undefined> {
    assertStoreKey(keyId);
    if (this.tombstones.has(keyId)) throw destroyed(keyId);
    return this.readRecord(SHARE_PREFIX, keyId);
  }

  private async readRecord(prefix: string, keyId: string): Promise<ShareRecord | undefined> {
    const value = await this.db.get(prefix + keyId);
    const name = prefix === SHARE_PREFIX ? keyId : prefix + keyId;
    if (value === undefined) {
      this.checkAgainstManifest(name, undefined);
      return undefined;
    }
    if (value.length < 5 || value[0] !== FORMAT) throw tampered(`share ${keyId} has an unknown format`);
    const version = new DataView(value.buffer, value.byteOffset, value.byteLength).getUint32(1);
    this.checkAgainstManifest(name, version);
    const plaintext = this.decrypt(value.subarray(5), this.shareAad(keyId, version), `share ${keyId}`);
    try {
      const reader = new FieldReader(plaintext);
      const algo = reader.string();
      const threshold = reader.natural();
      const holders = Array.from({ length: reader.natural() }, () => reader.string());
      const record = {
        keyId,
        algo,
        version,
        threshold,
        holders,
        publicKey: reader.copy(),
        publicInfo: reader.copy(),
        secretShare: reader.copy(),
      };
      // Records written before sign policies existed end here: like an empty policy, they trust the gateway.
      const signPolicy = reader.atEnd() ? undefined : decodePolicy(reader.string());
      reader.done();
      return signPolicy && signPolicy.signers.length > 0 ? { ...record, signPolicy } : record;
    } catch (err) {
      // Authenticated but undecodable: written by something other than this code.
      if (err instanceof FieldDecodeError) throw tampered(`share ${keyId} does not decode: ${err.message}`);
      throw err;
    } finally {
      plaintext.fill(0);
    }
  }

  async has(keyId: string): Promise<boolean> {
    assertStoreKey(keyId);
    if (this.tombstones.has(keyId)) throw destroyed(keyId);
    const present = (await this.db.get(SHARE_PREFIX + keyId)) !== undefined;
    if (present !== this.manifest.shares.has(keyId) && this.inFlight?.keyId !== keyId) {
      throw present
        ? tampered(`the share of ${keyId} is not in the manifest`)
        : new ShareStoreError('DELETED', `the share of ${keyId} is missing (deleted)`);
    }
    return present;
  }

  /** Key ids with a share here, in byte order. */
  async keyIds(): Promise<string[]> {
    const ids: string[] = [];
    for await (const key of this.db.keys(prefixRange(SHARE_PREFIX))) ids.push(key.slice(SHARE_PREFIX.length));
    return ids;
  }

  async count(): Promise<number> {
    let n = 0;
    for await (const _key of this.db.keys(prefixRange(SHARE_PREFIX))) n++;
    return n;
  }

  /**
   * Erases this node's share of `keyId` and writes its tombstone, with the manifest, in one atomic
   * write; then compacts the range so the ciphertext leaves LevelDB's files too. From then on the
   * key id is refused for reads and for any later write (a restored old share, a new keygen).
   * Repeating it is harmless and answers the first destruction's time.
   */
  async destroy(keyId: string, nowMs: number = Date.now()): Promise<{ hadShare: boolean; destroyedAtMs: number }> {
    assertStoreKey(keyId);
    const run = this.writes.then(async () => {
      const present = (await this.db.get(SHARE_PREFIX + keyId)) !== undefined;
      const when = this.tombstones.get(keyId) ?? nowMs;
      if (this.tombstones.has(keyId) && !present) return { hadShare: false, destroyedAtMs: when };
      const until = new Uint8Array(8);
      new DataView(until.buffer).setBigUint64(0, BigInt(when));
      const shares = new Map(this.manifest.shares);
      shares.delete(keyId);
      // A share version staged by an unfinished refresh goes too.
      shares.delete(STAGED_PREFIX + keyId);
      const next: Manifest = { counter: this.manifest.counter + 1, shares };
      await this.commitBatch(
        [
          { type: 'del', key: SHARE_PREFIX + keyId },
          { type: 'del', key: STAGED_PREFIX + keyId },
          {
            type: 'put',
            key: TOMB_PREFIX + keyId,
            value: concat(Uint8Array.of(FORMAT), this.encrypt(until, this.tombAad(keyId))),
          },
        ],
        next,
      );
      this.tombstones.set(keyId, when);
      await this.db.compactRange(SHARE_PREFIX + keyId, SHARE_PREFIX + keyId + '\u0000');
      await this.db.compactRange(STAGED_PREFIX + keyId, STAGED_PREFIX + keyId + '\u0000');
      return { hadShare: present, destroyedAtMs: when };
    });
    this.writes = run.catch(() => {});
    return run;
  }

  /** When `keyId` was destroyed here, or undefined. */
  destroyedAt(keyId: string): number | undefined {
    return this.tombstones.get(keyId);
  }

  /** Stores an opaque secret (e.g. pre-generated Paillier parameters) encrypted like a share. */
  async putSecret(name: string, secret: Uint8Array): Promise<void> {
    assertStoreKey(name);
    const sealed = this.encrypt(secret, this.secretAad(name));
    await this.db.put(SECRET_PREFIX + name, concat(Uint8Array.of(FORMAT), sealed), { sync: true });
  }

  /** The secret stored under `name`, or undefined. The caller zeroes it once used. */
  async getSecret(name: string): Promise<Uint8Array | undefined> {
    assertStoreKey(name);
    const value = await this.db.get(SECRET_PREFIX + name);
    if (value === undefined) return undefined;
    if (value[0] !== FORMAT) throw tampered(`secret ${name} has an unknown format`);
    return this.decrypt(value.subarray(1), this.secretAad(name), `secret ${name}`);
  }

  async deleteSecret(name: string): Promise<void> {
    assertStoreKey(name);
    await this.db.del(SECRET_PREFIX + name, { sync: true });
  }

  /** Remembers a session id until `forgetAfterMs` (Unix ms), authenticated like a secret. */
  async rememberSession(sessionId: string, forgetAfterMs: number): Promise<void> {
    assertSessionId(sessionId);
    const until = new Uint8Array(8);
    new DataView(until.buffer).setBigUint64(0, BigInt(forgetAfterMs));
    const sealed = this.encrypt(until, this.sessionAad(sessionId));
    // No fsync: on the path of every session; the write survives a process crash, not a power loss.
    await this.db.put(SESSION_PREFIX + sessionId, concat(Uint8Array.of(FORMAT), sealed), { sync: false });
  }

  /** Every remembered session id with its retention end. Throws TAMPERED on an altered entry. */
  async seenSessions(): Promise<Map<string, number>> {
    const seen = new Map<string, number>();
    for await (const [key, value] of this.db.iterator(prefixRange(SESSION_PREFIX))) {
      const id = key.slice(SESSION_PREFIX.length);
      if (!SESSION_ID_PATTERN.test(id) || value[0] !== FORMAT) throw tampered(`session entry ${id} is malformed`);
      const until = this.decrypt(value.subarray(1), this.sessionAad(id), `session entry ${id}`);
      if (until.length !== 8) throw tampered(`session entry ${id} is malformed`);
      seen.set(id, Number(new DataView(until.buffer, until.byteOffset, 8).getBigUint64(0)));
    }
    return seen;
  }

  async forgetSessions(sessionIds: readonly string[]): Promise<void> {
    sessionIds.forEach(assertSessionId);
    await this.db.batch(
      sessionIds.map((id) => ({ type: 'del' as const, key: SESSION_PREFIX + id })),
      { sync: false },
    );
  }

  /**
   * Every entry of the database as of one moment (a LevelDB iterator reads from an implicit
   * snapshot), values still encrypted under the DEK, with an anchor for the snapshot's own
   * manifest counter: restored together they open as a consistent store.
   */
  async snapshot(): Promise<StoreSnapshot> {
    const entries: Array<[string, Uint8Array]> = [];
    for await (const [key, value] of this.db.iterator()) entries.push([key, value]);
    const shareVersions = new Map<string, number>();
    let sealedManifest: Uint8Array | undefined;
    for (const [key, value] of entries) {
      if (key === MANIFEST_KEY) sealedManifest = value;
      if (!key.startsWith(SHARE_PREFIX)) continue;
      if (value.length < 5 || value[0] !== FORMAT) throw tampered(`share ${key} has an unknown format`);
      shareVersions.set(key.slice(SHARE_PREFIX.length), readVersion(value));
    }
    if (sealedManifest?.[0] !== FORMAT) throw tampered('the snapshot has no share manifest');
    try {
      const manifest = openManifest(sealedManifest.subarray(1), this.nodeId, this.manifestKeys);
      checkRecords(manifest, shareVersions);
      return {
        entries,
        shareVersions,
        anchor: encodeAnchor(this.nodeId, manifest.counter, this.manifestKeys),
      };
    } catch (err) {
      if (err instanceof ManifestError) throw new ShareStoreError(err.code, err.message, { cause: err });
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.writes;
    await this.db.close();
    this.manifestKeys.seal.fill(0);
    this.manifestKeys.anchor.fill(0);
  }

  /**
   * Loads the manifest and checks it against its anchor and against the share records present.
   * A database without a manifest (new, or written before manifests existed) gets one listing
   * its records, unless an anchor shows that a manifest existed.
   */
  private async loadManifest(): Promise<void> {
    try {
      const records = await this.recordVersions();
      const anchorBytes = await readAnchor(this.anchorPath);
      const value = await this.db.get(MANIFEST_KEY);
      if (value === undefined) {
        if (anchorBytes !== undefined) {
          throw new ManifestError('DELETED', `the share manifest of node ${this.nodeId} is missing (deleted)`);
        }
        const fresh: Manifest = { counter: 1, shares: records };
        await this.db.put(MANIFEST_KEY, this.sealedManifest(fresh), { sync: true });
        await writeAnchor(this.anchorPath, encodeAnchor(this.nodeId, fresh.counter, this.manifestKeys));
        this.manifest = fresh;
        return;
      }
      if (value[0] !== FORMAT) throw new ManifestError('TAMPERED', 'the share manifest has an unknown format');
      const manifest = openManifest(value.subarray(1), this.nodeId, this.manifestKeys);
      if (anchorBytes === undefined) {
        throw new ManifestError('DELETED', `the manifest anchor ${this.anchorPath} is missing (deleted)`);
      }
      const anchored = decodeAnchor(anchorBytes, this.nodeId, this.manifestKeys);
      checkAnchor(manifest, anchored);
      checkRecords(manifest, records);
      if (manifest.counter > anchored) {
        await writeAnchor(this.anchorPath, encodeAnchor(this.nodeId, manifest.counter, this.manifestKeys));
      }
      this.manifest = manifest;
    } catch (err) {
      if (err instanceof ManifestError) throw new ShareStoreError(err.code, err.message, { cause: err });
      throw err;
    }
  }

  /** Reads every tombstone; an altered or moved one fails authentication (TAMPERED). */
  private async loadTombstones(): Promise<void> {
    for await (const [key, value] of this.db.iterator(prefixRange(TOMB_PREFIX))) {
      const keyId = key.slice(TOMB_PREFIX.length);
      if (!STORE_KEY_PATTERN.test(keyId) || value[0] !== FORMAT) throw tampered(`tombstone ${keyId} is malformed`);
      const when = this.decrypt(value.subarray(1), this.tombAad(keyId), `tombstone ${keyId}`);
      if (when.length !== 8) throw tampered(`tombstone ${keyId} is malformed`);
      this.tombstones.set(keyId, Number(new DataView(when.buffer, when.byteOffset, 8).getBigUint64(0)));
    }
  }

  /** Key id (or `staged/<key id>`) -> share version of every record, read from the clear header. */
  private async recordVersions(): Promise<Map<string, number>> {
    const versions = new Map<string, number>();
    for (const prefix of [SHARE_PREFIX, STAGED_PREFIX]) {
      for await (const [key, value] of this.db.iterator(prefixRange(prefix))) {
        const keyId = key.slice(prefix.length);
        if (value.length < 5 || value[0] !== FORMAT) throw tampered(`share ${keyId} has an unknown format`);
        const name = prefix === SHARE_PREFIX ? keyId : prefix + keyId;
        versions.set(name, new DataView(value.buffer, value.byteOffset, value.byteLength).getUint32(1));
      }
    }
    return versions;
  }

  /** Refuses a record (or its absence) that disagrees with the manifest. */
  private checkAgainstManifest(keyId: string, version: number | undefined): void {
    if (this.inFlight?.keyId === keyId && this.inFlight.version === version) return;
    const expected = this.manifest.shares.get(keyId);
    if (expected === undefined) {
      if (version !== undefined) throw tampered(`the share of ${keyId} is not in the manifest`);
      return;
    }
    if (version === undefined) throw new ShareStoreError('DELETED', `the share of ${keyId} is missing (deleted)`);
    if (version !== expected) {
      throw new ShareStoreError(
        'ROLLED_BACK',
        `the share of ${keyId} is version ${version}, the manifest says ${expected} (rolled back or replaced)`,
      );
    }
  }

  private sealedManifest(m: Manifest): Uint8Array {
    return concat(Uint8Array.of(FORMAT), sealManifest(m, this.nodeId, this.manifestKeys));
  }

  /** Writes the DEK check on a new database; on an existing one, proves the DEK opens it. */
  private async checkDek(): Promise<void> {
    const aad = encodeFields(['custos-dek-check', this.nodeId]);
    const value = await this.db.get(DEK_CHECK_KEY);
    if (value === undefined) {
      for await (const _key of this.db.keys({ limit: 1 })) {
        throw tampered(`the database of node ${this.nodeId} holds data but no DEK check`);
      }
      const sealed = this.encrypt(DEK_CHECK_PLAINTEXT, aad);
      await this.db.put(DEK_CHECK_KEY, concat(Uint8Array.of(FORMAT), sealed), { sync: true });
      return;
    }
    try {
      if (value[0] !== FORMAT) throw tampered('the DEK check has an unknown format');
      const plaintext = this.decrypt(value.subarray(1), aad, 'the DEK check');
      if (Buffer.compare(plaintext, DEK_CHECK_PLAINTEXT) !== 0) throw tampered('the DEK check has the wrong content');
    } catch (err) {
      throw new ShareStoreError(
        'WRONG_KEY',
        `the DEK does not open the database of node ${this.nodeId} (wrong DEK, another node's database, or tampering)`,
        { cause: err },
      );
    }
  }

  private shareAad(keyId: string, version: number): Uint8Array {
    return encodeFields(['custos-share-v1', keyId, this.nodeId, version]);
  }

  private tombAad(keyId: string): Uint8Array {
    return encodeFields(['custos-tombstone-v1', keyId, this.nodeId]);
  }

  private sessionAad(sessionId: string): Uint8Array {
    return encodeFields(['custos-seen-session-v1', sessionId, this.nodeId]);
  }

  private secretAad(name: string): Uint8Array {
    return encodeFields(['custos-secret-v1', name, this.nodeId]);
  }

  /** nonce | ciphertext | tag */
  private encrypt(plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    cipher.setAAD(aad);
    return Buffer.concat([nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  }

  private decrypt(sealed: Uint8Array, aad: Uint8Array, what: string): Uint8Array {
    if (sealed.length < NONCE_BYTES + TAG_BYTES) throw tampered(`${what} is truncated`);
    const decipher = createDecipheriv('aes-256-gcm', this.key, sealed.subarray(0, NONCE_BYTES));
    decipher.setAAD(aad);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    const plaintext = decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES));
    let result: Uint8Array;
    try {
      decipher.final();
      result = new Uint8Array(plaintext); // a plain Uint8Array the caller owns, not a Buffer
    } catch {
      throw tampered(`${what} fails authentication (altered, moved from another key, or from another node)`);
    } finally {
      plaintext.fill(0);
    }
    return result;
  }
}

/** The share version in a record's clear header (format byte, then u32). */
export function readVersion(value: Uint8Array): number {
  return new DataView(value.buffer, value.byteOffset, value.byteLength).getUint32(1);
}

/** A consistent copy of a store: LevelDB entries as stored, share versions, and the matching anchor. */
export interface StoreSnapshot {
  readonly entries: ReadonlyArray<readonly [string, Uint8Array]>;
  readonly shareVersions: ReadonlyMap<string, number>;
  readonly anchor: Uint8Array;
}

function decodePolicy(text: string): SignPolicy {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new FieldDecodeError('sign policy is not JSON');
  }
  const parsed = SignPolicySchema.safeParse(json);
  if (!parsed.success) throw new FieldDecodeError('sign policy does not validate');
  return parsed.data;
}

function destroyed(keyId: string): ShareStoreError {
  return new ShareStoreError(
    'DESTROYED',
    `key ${keyId} was destroyed on this node; its share is never served or stored again`,
  );
}

function tampered(message: string): ShareStoreError {
  return new ShareStoreError('TAMPERED', message);
}

function assertStoreKey(name: string): void {
  if (!STORE_KEY_PATTERN.test(name)) throw new ShareStoreError('INVALID_ARGUMENT', `invalid key id or name ${name}`);
}

function assertSessionId(id: string): void {
  if (!SESSION_ID_PATTERN.test(id)) throw new ShareStoreError('INVALID_ARGUMENT', 'invalid session id');
}

/** All keys that start with `prefix` ('/' + 1 is '0'). */
function prefixRange(prefix: string): { gt: string; lt: string } {
  return { gt: prefix, lt: prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1) };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
