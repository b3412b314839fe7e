/**
 * /api/v1/approvals: list and read approval requests (any role; an approved sign's result is read
 * here), approve and reject (APPROVAL_RESULT: approver or admin, never the requester).
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  ApprovalDecisionRequestSchema,
  ApprovalIdSchema,
  ListApprovalsQuerySchema,
  RejectRequestSchema,
} from '../../../common/api/schemas.ts';
import type { ApprovalService } from '../../approvals/service.ts';
import { ApiError } from '../errors.ts';
import { jsonBody, trailOf, validate } from '../context.ts';

const ParamsSchema = z.strictObject({ approval_id: ApprovalIdSchema });

function deciderOf(request: FastifyRequest) {
  if (!request.accessKey) throw new ApiError(401, 'UNAUTHENTICATED', 'no access key');
  return { requestId: request.id, userId: request.accessKey, trail: trailOf(request) };
}

/** An empty body is an approval without a reason. */
function optionalJsonBody(request: FastifyRequest): unknown {
  const raw = request.body;
  return raw instanceof Uint8Array && raw.length > 0 ? jsonBody(request) : {};
}

export const approvalRoutes: FastifyPluginAsync<{ approvals: ApprovalService }> = async (app, { approvals }) => {
  app.get('/api/v1/approvals', { config: { auth: true } }, async (request) => {
    return approvals.list(validate(ListApprovalsQuerySchema, request.query, 'query'));
  });

  app.get('/api/v1/approvals/:approval_id', { config: { auth: true } }, async (request) => {
    const { approval_id } = validate(ParamsSchema, request.params, 'path');
    return approvals.get(approval_id);
  });

  app.post(
    '/api/v1/approvals/:approval_id/approve',
    { config: { auth: true, operation: 'APPROVAL_RESULT' } },
    async (request) => {
      const { approval_id } = validate(ParamsSchema, request.params, 'path');
      const { reason } = validate(ApprovalDecisionRequestSchema, optionalJsonBody(request), 'body');
      return approvals.decide(approval_id, 'APPROVE', reason ?? null, deciderOf(request));
    },
  );

  app.post(
    '/api/v1/approvals/:approval_id/reject',
    { config: { auth: true, operation: 'APPROVAL_RESULT' } },
    async (request) => {
      const { approval_id } = validate(ParamsSchema, request.params, 'path');
      const { reason } = validate(RejectRequestSchema, jsonBody(request), 'body');
      return approvals.decide(approval_id, 'REJECT', reason, deciderOf(request));
    },
  );
};
