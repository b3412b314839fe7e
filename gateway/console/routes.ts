/** The console's pages: cluster health, keys (list, detail, status, generate), audit (query, verify, export). */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  ApprovalIdSchema,
  AlgorithmSchema,
  CURVE_OF_ALGORITHM,
  GenerateKeyRequestSchema,
  KeyIdSchema,
  KeyStatusSchema,
  ListKeysQuerySchema,
  UpdateStatusRequestSchema,
} from '../../common/api/schemas.ts';
import type { AuditOperation } from '../audit/chain.ts';
import { verifyAuditLog } from '../audit/verify.ts';
import { validate } from '../http/context.ts';
import { ApiError } from '../http/errors.ts';
import { readiness } from '../http/routes/system.ts';
import { auditPageOf, AuditFilterSchema, exportJsonLines, recentForKey } from './audit-view.ts';
import { consoleContext, formOf, type ConsoleDeps } from './server.ts';
import { auditPage } from './views/audit.ts';
import { healthPage } from './views/health.ts';
import { generatePage, keyDetailPage, keyListPage, type GenerateForm } from './views/keys.ts';

type Options = ConsoleDeps & { requireRole: (request: FastifyRequest, operation: AuditOperation) => Promise<void> };

const HTML = 'text/html; charset=utf-8';

/** Query strings from GET forms carry empty fields; the API's schemas treat absent and empty differently. */
function withoutEmpty(query: unknown): Record<string, string> {
  return Object.fromEntries(Object.entries((query ?? {}) as Record<string, string>).filter(([, v]) => v !== ''));
}

function keyIdOf(request: FastifyRequest): string {
  return validate(KeyIdSchema, (request.params as { key_id?: string }).key_id, 'key_id');
}

export const consolePages: FastifyPluginAsync<Options> = async (app, opts) => {
  const { config, db, coordinator, keys, audit, requireRole } = opts;

  app.get('/health', async (request, reply) => {
    const health = await coordinator.health().catch((err: unknown) => {
      request.log.warn({ err }, 'coordinator health failed');
      return [];
    });
    return reply
      .type(HTML)
      .send(healthPage(request.viewer!, readiness(health, config.nodes.length), new Date().toISOString()));
  });

  app.get('/keys', async (request, reply) => {
    const query = validate(ListKeysQuerySchema, withoutEmpty(request.query), 'query');
    const page = await keys.list(query);
    return reply.type(HTML).send(keyListPage(request.viewer!, query, page.keys, page.next_cursor));
  });

  const blankForm = (): GenerateForm => ({
    algo: config.algorithms.includes('EDDSA') ? 'EDDSA' : config.algorithms[0]!,
    label: '',
    shardCount: Math.min(3, config.nodes.length),
    threshold: Math.min(2, config.nodes.length),
    idempotencyKey: `console-${randomBytes(16).toString('hex')}`,
  });

  app.get('/keys/new', async (request, reply) =>
    reply.type(HTML).send(generatePage(request.viewer!, config.algorithms, config.nodes.length, blankForm())),
  );

  app.post('/keys', async (request, reply) => {
    await requireRole(request, 'KEY_GENERATE');
    const form = formOf(request);
    const echo: GenerateForm = {
      algo: String(form.algo ?? ''),
      label: String(form.label ?? ''),
      shardCount: Number(form.shard_count),
      threshold: Number(form.threshold),
      idempotencyKey: /^console-[0-9a-f]{32}$/.test(form.idempotency_key ?? '')
        ? form.idempotency_key!
        : blankForm().idempotencyKey,
    };
    try {
      const algo = validate(AlgorithmSchema, echo.algo, 'algorithm');
      const req = validate(
        GenerateKeyRequestSchema,
        {
          format: { type: 'ECC', curve: CURVE_OF_ALGORITHM[algo], algo_type: algo, size: 32 },
          shard_properties: { shard_count: echo.shardCount, threshold: echo.threshold },
          ...(echo.label ? { label: echo.label } : {}),
        },
        'key',
      );
      const { key } = await keys.generate(req, { ...consoleContext(request), idempotencyKey: echo.idempotencyKey });
      return reply.redirect(`/keys/${key.key_id}?created=1`, 303);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      // Validation failures the key service did not see are audited as the API audits them.
      if (!err.audited && err.status < 500) {
        await audit.record({
          operation: 'REQUEST_REJECTED',
          result: 'REJECTED',
          requestId: request.id,
          userId: consoleContext(request).userId,
          errorCode: err.code,
          trail: { ...consoleContext(request).trail, status: err.status },
        });
      }
      return reply
        .code(err.status)
        .type(HTML)
        .send(generatePage(request.viewer!, config.algorithms, config.nodes.length, echo, err.message));
    }
  });

  app.get('/keys/:key_id', async (request, reply) => {
    const keyId = keyIdOf(request);
    const key = await keys.get(keyId);
    const [signatures, changes] = await Promise.all([
      recentForKey(db, keyId, 'KEY_SIGN'),
      recentForKey(db, keyId, 'KEY_STATUS_CHANGE'),
    ]);
    const q = request.query as { created?: string; changed?: string; pending?: string };
    const changed = KeyStatusSchema.safeParse(q.changed);
    const pending = ApprovalIdSchema.safeParse(q.pending);
    const message = q.created
      ? { kind: 'success' as const, text: 'Key generated.' }
      : changed.success
        ? { kind: 'success' as const, text: `Status changed to ${changed.data}.` }
        : pending.success
          ? {
              kind: 'success' as const,
              text: `A policy protects this key: the change waits for approval ${pending.data}.`,
            }
          : undefined;
    return reply.type(HTML).send(keyDetailPage(request.viewer!, key, signatures, changes, message));
  });

  app.post('/keys/:key_id/status', async (request, reply) => {
    await requireRole(request, 'KEY_STATUS_CHANGE');
    const keyId = keyIdOf(request);
    const form = formOf(request);
    const body = validate(
      UpdateStatusRequestSchema,
      { status: form.status, ...(form.reason ? { reason: form.reason } : {}) },
      'status change',
    );
    const out = await keys.setStatus(keyId, body.status, body.reason, consoleContext(request));
    // A key a policy protects: the change waits for four-eyes approval (docs/policies-and-approvals.md).
    if ('approval' in out) return reply.redirect(`/keys/${keyId}?pending=${out.approval.approval_id}`, 303);
    return reply.redirect(`/keys/${out.done.key_id}?changed=${out.done.status}`, 303);
  });

  app.get('/audit', async (request, reply) => {
    const filter = validate(AuditFilterSchema, request.query, 'filter');
    const { rows, nextBefore } = await auditPageOf(db, filter);
    return reply.type(HTML).send(auditPage(request.viewer!, filter, rows, nextBefore));
  });

  app.post('/audit/verify', async (request, reply) => {
    const verification = await verifyAuditLog(db, {
      publicKeyHex: audit.publicKeyHex,
      checkpointEvery: config.audit.checkpoint_every,
    });
    const filter = validate(AuditFilterSchema, {}, 'filter');
    const { rows, nextBefore } = await auditPageOf(db, filter);
    return reply
      .code(verification.ok ? 200 : 409)
      .type(HTML)
      .send(auditPage(request.viewer!, filter, rows, nextBefore, verification));
  });

  app.get('/audit/export', async (request, reply) => {
    const { limit: _limit, ...filter } = validate(AuditFilterSchema, request.query, 'filter');
    return reply
      .type('application/x-ndjson; charset=utf-8')
      .header('content-disposition', 'attachment; filename="custos-audit.jsonl"')
      .send(Readable.from(exportJsonLines(db, filter)));
  });
};
