/** The access_keys table: AccessKey/SecretKey pairs, secrets sealed under the master key. */
import { readFileSync } from 'node:fs';
import { BootstrapCredentialsSchema } from '../config.ts';
import { nowIso, type Db } from '../db/index.ts';
import { RolesSchema, type Role } from './roles.ts';
import { open, seal } from './secret-box.ts';

export interface AccessKey {
  accessKey: string;
  secretKey: string;
  enabled: boolean;
  allowedCidrs: string[];
  description: string | null;
  roles: Role[];
}

export interface AccessKeyStore {
  get(accessKey: string): Promise<AccessKey | undefined>;
  upsert(
    key: Omit<AccessKey, 'description' | 'roles'> & { description?: string | null; roles?: Role[] },
  ): Promise<void>;
  setEnabled(accessKey: string, enabled: boolean): Promise<void>;
}

const aadOf = (accessKey: string) => `custos/access_key/${accessKey}`;

export function createAccessKeyStore(db: Db, masterKey: Uint8Array): AccessKeyStore {
  return {
    async get(accessKey) {
      const row = await db.selectFrom('access_keys').selectAll().where('access_key', '=', accessKey).executeTakeFirst();
      if (!row) return undefined;
      return {
        accessKey: row.access_key,
        secretKey: open(masterKey, row.secret_key_enc, aadOf(row.access_key)),
        enabled: row.enabled === 1,
        allowedCidrs: JSON.parse(row.allowed_cidrs) as string[],
        description: row.description,
        roles: RolesSchema.parse(JSON.parse(row.roles)),
      };
    },
    async upsert(key) {
      const values = {
        secret_key_enc: seal(masterKey, key.secretKey, aadOf(key.accessKey)),
        enabled: key.enabled ? 1 : 0,
        allowed_cidrs: JSON.stringify(key.allowedCidrs),
        description: key.description ?? null,
        roles: JSON.stringify(key.roles ?? ['admin']),
      };
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
    async setEnabled(accessKey, enabled) {
      await db
        .updateTable('access_keys')
        .set({ enabled: enabled ? 1 : 0 })
        .where('access_key', '=', accessKey)
        .execute();
    },
  };
}

/**
 * Upserts the access key of a bootstrap credentials file ({"access_key","secret_key"} and optional
 * "roles", default admin), keeping the enabled flag and allow-list an operator may have set on it.
 * The file decides the roles: whoever provisions the file owns the key. Returns the access key id.
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
  });
  return creds.access_key;
}
