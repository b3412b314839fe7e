/** The gateway's copy of each key's sign policy (the holder nodes keep the one that counts). */
import { SignPolicySchema, type SignPolicy } from '../../common/authz/client-keys.ts';
import { nowIso, type Db } from '../db/index.ts';

export interface SignPolicyStore {
  get(keyId: string): Promise<SignPolicy | undefined>;
  put(keyId: string, policy: SignPolicy): Promise<void>;
}

export function createSignPolicyStore(db: Db): SignPolicyStore {
  return {
    async get(keyId) {
      const row = await db
        .selectFrom('key_sign_policies')
        .select('policy')
        .where('key_id', '=', keyId)
        .executeTakeFirst();
      return row ? SignPolicySchema.parse(JSON.parse(row.policy)) : undefined;
    },
    async put(keyId, policy) {
      const values = { policy: JSON.stringify(policy), updated_at: nowIso() };
      await db.transaction().execute(async (tx) => {
        const existing = await tx
          .selectFrom('key_sign_policies')
          .select('key_id')
          .where('key_id', '=', keyId)
          .executeTakeFirst();
        if (existing) await tx.updateTable('key_sign_policies').set(values).where('key_id', '=', keyId).execute();
        else
          await tx
            .insertInto('key_sign_policies')
            .values({ key_id: keyId, ...values })
            .execute();
      });
    },
  };
}

/** The policy as the key API shows it: who may sign, not their public keys. */
export function policySummary(p: SignPolicy): { version: number; signers: string[]; change_quorum: number } {
  return { version: p.version, signers: p.signers.map((s) => s.access_key).sort(), change_quorum: p.change_quorum };
}
