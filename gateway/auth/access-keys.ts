/**
 * The access_keys table: AccessKey/SecretKey pairs, secrets sealed under the master key. A
 * rotation keeps the replaced secret (sealed too) valid until its expiry, so clients can switch
 * without downtime.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ScopeSchema } from '../../common/api/schemas.ts';
import { BootstrapCredentialsSchema } from '../config.ts';
import { nowIso, type Db } from '../db/index.ts';
import type { Updateable } from 'kysely';
import type { AccessKeyRow, AccessKeysTable } from '../db/schema.ts';
import { RolesSchema, type Role } from './roles.ts';
import type { Scope } from './scopes.ts';
import { open, seal } from './secret-box.ts';

export interface AccessKey {
  accessKey: string;
  secretKey: string;
  enabled: boolean;
  allowedCidrs: string[];
  description: string | null;
  roles: Role[];
  name: string | null;
  scopes: Scope[];
  createdAt: string;
  /** The secret a rotation replaced, while it still verifies. */
  previousSecret?: { secretKey: string; expiresAt: string };
}

/** What a caller may set; everything else has a default. */
export type AccessKeyInput = Pick<AccessKey, 'accessKey' | 'secretKey' | 'enabled' | 'allowedCidrs'> &
  Partial<Pick<AccessKey, 'description' | 'roles' | 'name' | 'scopes'>>;

export interface AccessKeyStore {
  get(accessKey: string): Promise<AccessKey | undefined>;
  /** Every access key, oldest first (secrets included: callers must not answer them). */
  list(): Promise<AccessKey[]>;
  upsert(key: AccessKeyInput): Promise<void>;
  /** Inserts a new key; false when the id is taken. */
  create(key: AccessKeyInput): Promise<boolean>;
  setEnabled(accessKey: string, enabled: boolean): Promise<void>;
  setAllowedCidrs(accessKey: string, cidrs: string[]): Promise<void>;
  setScopes(accessKey: string, scopes: Scope[]): Promise<void>;
  /** Replaces the secret; the old one verifies until `graceUntil`. */
  rotate(accessKey: string, newSecret: string, graceUntil: string): Promise<void>;
}

const aadOf = (accessKey: string) => `custos/access_key/${accessKey}`;
/** The sealed previous secret gets its own AAD, so the two sealed columns cannot be swapped. */
const previousAadOf = (accessKey: string) => `custos/access_key/${accessKey}/previous`;
const ScopesColumnSchema = z.array(ScopeSchema);

/** A fresh HMAC secret: 32 random bytes, base64url (43 characters). */
export function newSecretKey(): string {
  return randomBytes(32).toString('base64url');
}

/** A fresh access key id: `AK` and 20 random hex digits. */
export function newAccessKeyId(): string {
  return `AK${randomBytes(10).toString('hex').toUpperCase()}`;
}

export function createAccessKeyStore(db: Db, masterKey: Uint8Array, now: () => number = Date.now): AccessKeyStore {
  function fromRow(row: AccessKeyRow): AccessKey {
    const previousLive =
      row.previous_secret_enc !== null &&
      row.previous_secret_expires_at !== null &&
      Date.parse(row.previous_secret_expires_at) > now();
    return {
      accessKey: row.access_key,
      secretKey: open(masterKey, row.secret_key_enc, aadOf(row.access_key)),
      enabled: row.enabled === 1,
      allowedCidrs: JSON.parse(row.allowed_cidrs) as string[],
      description: row.description,
      roles: RolesSchema.parse(JSON.parse(row.roles)),
      name: row.name,
      scopes: row.scopes === null ? [] : ScopesColumnSchema.parse(JSON.parse(row.scopes)),
      createdAt: row.created_at,
      ...(previousLive
        ? {
            previousSecret: {
              secretKey: open(masterKey, row.previous_secret_enc!, previousAadOf(row.access_key)),
              expiresAt: row.previous_secret_expires_at!,
            },
          }
        : {}),
    };
  }

  function columnsOf(key: AccessKeyInput) {
    return {
      secret_key_enc: seal(masterKey, key.secretKey, aadOf(key.accessKey)),
      enabled: key.enabled ? 1 : 0,
      allowed_cidrs: JSON.stringify(key.allowedCidrs),
      description: key.description ?? null,
      roles: JSON.stringify(key.roles ?? ['admin']),
      name: key.name ?? null,
      scopes: JSON.stringify(key.scopes ?? []),
    };
  }

  const update = (accessKey: string, values: Updateable<AccessKeysTable>) =>
    db.updateTable('access_keys').set(values).where('access_key', '=', accessKey).execute();

  return {
    async get(accessKey) {
      const row = await db.selectFrom('access_keys').selectAll().where('access_key', '=', accessKey).executeTakeFirst();
      return row ? fromRow(row) : undefined;
    },
    async list() {
      const rows = await db.selectFrom('access_keys').selectAll().orderBy('created_at').orderBy('access_key').execute();
      return rows.map(fromRow);
    },
    async upsert(key) {
      const values = columnsOf(key);
      await db.transaction().execute(async (tx) => {
        const existing = await tx
          .selectFrom('access_keys')
          .select('access_key')
          .where('access_key', '=', key.accessKey)
          .executeTakeFirst();
        if (existing) await tx.updateTable('access_keys').set(values).where('access_key', '=', key.accessKey).execute();
        else
          await tx
            .insertInto('access_keys')
            .values({ access_key: key.accessKey, created_at: nowIso(), ...values })
            .execute();
      });
    },
    async create(key) {
      try {
        await db
          .insertInto('access_keys')
          .values({ access_key: key.accessKey, created_at: nowIso(), ...columnsOf(key) })
          .execute();
        return true;
      } catch (err) {
        if (await this.get(key.accessKey)) return false;
        throw err;
      }
    },
    async setEnabled(accessKey, enabled) {
      await update(accessKey, { enabled: enabled ? 1 : 0 });
    },
    async setAllowedCidrs(accessKey, cidrs) {
      await update(accessKey, { allowed_cidrs: JSON.stringify(cidrs) });
    },
    async setScopes(accessKey, scopes) {
      await update(accessKey, { scopes: JSON.stringify(scopes) });
    },
    async rotate(accessKey, newSecret, graceUntil) {
      await db.transaction().execute(async (tx) => {
        const row = await tx
          .selectFrom('access_keys')
          .select('secret_key_enc')
          .where('access_key', '=', accessKey)
          .executeTakeFirstOrThrow();
        const current = open(masterKey, row.secret_key_enc, aadOf(accessKey));
        await tx
          .updateTable('access_keys')
          .set({
            secret_key_enc: seal(masterKey, newSecret, aadOf(accessKey)),
            previous_secret_enc: seal(masterKey, current, previousAadOf(accessKey)),
            previous_secret_expires_at: graceUntil,
          })
          .where('access_key', '=', accessKey)
          .execute();
      });
    },
  };
}

/**
 * Upserts the access key of a bootstrap credentials file ({"access_key","secret_key"} and optional
 * "roles", default admin), keeping the enabled flag, allow-list and scopes an operator may have
 * set on it. The file decides the roles: whoever provisions the file owns the key. Returns the
 * access key id.
 */
export async function provisionBootstrapKey(store: AccessKeyStore, file: string): Promise<string> {
  const creds = BootstrapCredentialsSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  const existing = await store.get(creds.access_key);
  await store.upsert({
    accessKey: creds.access_key,
    secretKey: creds.secret_key,
    enabled: existing?.enabled ?? true,
    allowedCidrs: existing?.allowedCidrs ?? [],
    description: existing?.description ?? 'bootstrap credentials',
    roles: creds.roles,
    name: existing?.name ?? 'bootstrap',
    scopes: existing?.scopes ?? [],
  });
  return creds.access_key;
}
