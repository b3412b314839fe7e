/**
 * /api/v1/backups: write a backup set now, list the sets, and record what `custos backup
 * verify|restore` did with one (those run where the offline recovery identity is, never here).
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { BackupReportSchema } from '../../../common/api/schemas.ts';
import { SET_ID_PATTERN } from '../../../common/backup/manifest.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import { BackupUnavailableError, type BackupService } from '../../backups/service.ts';
import { ApiError } from '../errors.ts';
import { jsonBody, trailOf, validate } from '../context.ts';

const SetParamsSchema = z.object({ set_id: z.string().regex(SET_ID_PATTERN) });

export const backupRoutes: FastifyPluginAsync<{ backups: BackupService | undefined; audit: AuditLog }> = async (
  app,
  { backups, audit },
) => {
  const configured = (): BackupService => {
    if (!backups) throw new ApiError(503, 'BACKUP_NOT_CONFIGURED', 'backups are not configured on this gateway');
    return backups;
  };
  const who = (request: FastifyRequest) => ({ requestId: request.id, userId: request.accessKey });

  app.post('/api/v1/backups', { config: { auth: true, operation: 'BACKUP_CREATE' } }, async (request, reply) => {
    const service = configured();
    try {
      const r = await service.create();
      await audit.record({
        operation: 'BACKUP_CREATE',
        result: 'SUCCESS',
        ...who(request),
        durationMs: r.durationMs,
        trail: {
          ...trailOf(request),
          set_id: r.setId,
          size_bytes: r.sizeBytes,
          locations: r.locations,
          pruned: r.pruned,
        },
      });
      return reply.code(201).send({
        set_id: r.setId,
        size_bytes: r.sizeBytes,
        duration_ms: r.durationMs,
        files: r.files,
        locations: r.locations,
        pruned: r.pruned,
      });
    } catch (err) {
      const code = err instanceof BackupUnavailableError ? err.code : 'INTERNAL';
      await audit.record({
        operation: 'BACKUP_CREATE',
        result: 'FAILURE',
        ...who(request),
        errorCode: code,
        trail: { ...trailOf(request), reason: (err as Error).message },
      });
      if (code === 'IN_PROGRESS') throw new ApiError(409, 'CONFLICT', (err as Error).message, {}, true);
      throw new ApiError(503, 'BACKUP_FAILED', (err as Error).message, {}, true);
    }
  });

  app.get('/api/v1/backups', { config: { auth: true } }, async () => {
    const { location, sets } = await configured().list();
    return {
      location,
      sets: sets.map((s) => ({
        set_id: s.setId,
        created_at: s.createdAt,
        complete: s.complete,
        size_bytes: s.sizeBytes,
      })),
    };
  });

  for (const [path, operation] of [
    ['verifications', 'BACKUP_VERIFY'],
    ['restores', 'BACKUP_RESTORE'],
  ] as const) {
    app.post(`/api/v1/backups/:set_id/${path}`, { config: { auth: true, operation } }, async (request, reply) => {
      const { set_id } = validate(SetParamsSchema, request.params, 'path');
      const report = validate(BackupReportSchema, jsonBody(request), 'body');
      if (report.operation !== operation.slice('BACKUP_'.length)) {
        throw new ApiError(400, 'VALIDATION_FAILED', `body: operation must be ${operation.slice('BACKUP_'.length)}`);
      }
      const { seq } = await audit.record({
        operation,
        result: report.result,
        ...who(request),
        nodeId: report.node_id,
        errorCode: report.error_code,
        durationMs: report.duration_ms,
        trail: { ...trailOf(request), set_id, message: report.message ?? null, reported_by: 'custos backup' },
      });
      return reply.code(201).send({ audit_seq: seq });
    });
  }
};
