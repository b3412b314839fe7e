/**
 * The public halves of asymmetric access keys (Ed25519, P-256). An access key with a row here
 * signs its requests with its private key instead of an HMAC secret; its access_keys row still
 * carries enabled, the allow-list and roles.
 */
import { ClientPublicKeySchema, type ClientPublicKey } from '../../common/authz/client-keys.ts';
import { nowIso, type Db } from '../db/index.ts';

export interface ClientPublicKeyStore {
  get(accessKey: string): Promise<ClientPublicKey | undefined>;
  /** Registers a public key; an access key's public key never changes once registered. */
  add(key: ClientPublicKey): Promise<void>;
}

export function createClientPublicKeyStore(db: Db): ClientPublicKeyStore {
  return {
    async get(accessKey) {
      const row = await db
        .selectFrom('client_public_keys')
        .selectAll()
        .where('access_key', '=', accessKey)
        .executeTakeFirst();
      if (!row) return undefined;
      return ClientPublicKeySchema.parse({
        access_key: row.access_key,
        algorithm: row.algorithm,
        public_key: row.public_key,
      });
    },
    async add(key) {
      const k = ClientPublicKeySchema.parse(key);
      await db
        .insertInto('client_public_keys')
        .values({ access_key: k.access_key, algorithm: k.algorithm, public_key: k.public_key, created_at: nowIso() })
        .execute();
    },
  };
}
