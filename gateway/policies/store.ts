/**
 * Policies in the metadata database: one row per policy, so a create, update or delete is a
 * single statement and is written whole or not at all. Updates are guarded by the version they
 * were based on; every replica reads the same rows.
 */
import { randomBytes } from 'node:crypto';
import { nowIso, type Db } from '../db/index.ts';
import type { PolicyRow } from '../db/schema.ts';
import { ApiError } from '../http/errors.ts';
import { PolicyDocumentSchema, type Policy, type PolicyDocument } from '../../common/api/policy-document.ts';

export interface PolicyStore {
  list(): Promise<Policy[]>;
  get(policyId: string): Promise<Policy>;
  create(doc: PolicyDocument, createdBy: string | undefined): Promise<Policy>;
  /** Replaces the document if the stored version is still `baseVersion`; 409 otherwise. */
  update(policyId: string, doc: PolicyDocument, baseVersion: number): Promise<Policy>;
  /** Deletes the policy if the stored version is still `baseVersion`; 409 otherwise. */
  remove(policyId: string, baseVersion: number): Promise<void>;
}

export const newPolicyId = () => `pol_${randomBytes(16).toString('hex')}`;

function policyOf(row: PolicyRow, parsedCache: Map<string, { version: number; policy: Policy }>): Policy {
  const cached = parsedCache.get(row.policy_id);
  if (cached && cached.version === Number(row.version) && cached.policy.updated_at === row.updated_at) {
    return cached.policy;
  }
  const policy: Policy = {
    policy_id: row.policy_id,
    version: Number(row.version),
    document: PolicyDocumentSchema.parse(JSON.parse(row.document)),
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
  parsedCache.set(row.policy_id, { version: policy.version, policy });
  return policy;
}

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; errno?: number };
  return e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'ER_DUP_ENTRY' || e?.errno === 1062;
}

export function createPolicyStore(db: Db): PolicyStore {
  // Parsed documents by id and version: each request reads the rows, but only changed ones are re-parsed.
  const parsed = new Map<string, { version: number; policy: Policy }>();
  const nameTaken = (name: string) => new ApiError(409, 'CONFLICT', `a policy named ${name} exists`);

  return {
    async list() {
      const rows = await db.selectFrom('policies').selectAll().orderBy('created_at').orderBy('policy_id').execute();
      const live = new Set(rows.map((r) => r.policy_id));
      for (const id of parsed.keys()) if (!live.has(id)) parsed.delete(id);
      return rows.map((r) => policyOf(r, parsed));
    },

    async get(policyId) {
      const row = await db.selectFrom('policies').selectAll().where('policy_id', '=', policyId).executeTakeFirst();
      if (!row) throw new ApiError(404, 'NOT_FOUND', `policy ${policyId} not found`);
      return policyOf(row, parsed);
    },

    async create(doc, createdBy) {
      const now = nowIso();
      const row: PolicyRow = {
        policy_id: newPolicyId(),
        name: doc.name,
        document: JSON.stringify(doc),
        version: 1,
        created_by: createdBy ?? null,
        created_at: now,
        updated_at: now,
      };
      try {
        await db.insertInto('policies').values(row).execute();
      } catch (err) {
        if (isUniqueViolation(err)) throw nameTaken(doc.name);
        throw err;
      }
      return policyOf(row, parsed);
    },

    async update(policyId, doc, baseVersion) {
      const now = nowIso();
      let res;
      try {
        res = await db
          .updateTable('policies')
          .set({ name: doc.name, document: JSON.stringify(doc), version: baseVersion + 1, updated_at: now })
          .where('policy_id', '=', policyId)
          .where('version', '=', baseVersion)
          .executeTakeFirst();
      } catch (err) {
        if (isUniqueViolation(err)) throw nameTaken(doc.name);
        throw err;
      }
      if (Number(res.numUpdatedRows) !== 1) {
        await this.get(policyId);
        throw new ApiError(409, 'CONFLICT', `policy ${policyId} changed since version ${baseVersion}; retry`);
      }
      return this.get(policyId);
    },

    async remove(policyId, baseVersion) {
      const res = await db
        .deleteFrom('policies')
        .where('policy_id', '=', policyId)
        .where('version', '=', baseVersion)
        .executeTakeFirst();
      if (Number(res.numDeletedRows) !== 1) {
        await this.get(policyId);
        throw new ApiError(409, 'CONFLICT', `policy ${policyId} changed since version ${baseVersion}; retry`);
      }
      parsed.delete(policyId);
    },
  };
}
