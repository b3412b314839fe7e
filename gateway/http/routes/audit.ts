/**
 * /api/v1/audit: the audit log for the `auditor` role (and admins). Reading is not itself
 * audited; a refused read is (AUTH_REJECTED).
 */
import type { FastifyPluginAsync } from 'fastify';
import { AuditQuerySchema, type AuditVerifyResponse } from '../../../common/api/schemas.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import { BadCursorError, queryAudit } from '../../audit/query.ts';
import { compareHead, verifyAuditLog } from '../../audit/verify.ts';
import type { Db } from '../../db/index.ts';
import { validate } from '../context.ts';
import { ApiError } from '../errors.ts';

export const auditRoutes: FastifyPluginAsync<{
  db: Db;
  audit: AuditLog;
  checkpointEvery: number;
  /** The writer's checkpoint interval; entries unsealed for twice as long are reported. */
  checkpointIntervalMs: number;
}> = async (app, { db, audit, checkpointEvery, checkpointIntervalMs }) => {
  app.get('/api/v1/audit', { config: { auth: true, operation: 'AUDIT_READ' } }, async (request) => {
    const query = validate(AuditQuerySchema, request.query, 'query');
    try {
      return await queryAudit(db, query);
    } catch (err) {
      if (err instanceof BadCursorError) throw new ApiError(400, 'VALIDATION_FAILED', err.message);
      throw err;
    }
  });

  app.get('/api/v1/audit/verify', { config: { auth: true, operation: 'AUDIT_READ' } }, async () => {
    const chain = await verifyAuditLog(db, { publicKeyHex: audit.publicKeyHex, checkpointEvery });
    const head = await compareHead(db, { maxUnsealedMs: 2 * checkpointIntervalMs });
    const body: AuditVerifyResponse = {
      ok: chain.ok && head.problem === undefined,
      entries: chain.ok ? chain.entries : (head.head?.seq ?? 0),
      checkpoints: chain.ok
        ? chain.checkpoints
        : Number(
            (
              await db
                .selectFrom('audit_checkpoints')
                .select((eb) => eb.fn.countAll<number | string>().as('n'))
                .executeTakeFirst()
            )?.n ?? 0,
          ),
      head: head.head,
      latest_checkpoint: head.latest_checkpoint,
      unsealed_entries: head.unsealed_entries,
      public_key: audit.publicKeyHex,
      ...(!chain.ok
        ? { first_bad_seq: chain.firstBadSeq, reason: chain.reason }
        : head.problem
          ? { first_bad_seq: head.problem.firstBadSeq, reason: head.problem.reason }
          : {}),
    };
    return body;
  });
};
