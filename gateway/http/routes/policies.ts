/** /api/v1/policies: risk-control policies (docs/policies-and-approvals.md). Changes are CONFIG_CHANGE (admin). */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { PolicyDocumentSchema } from '../../../common/api/policy-document.ts';
import { PolicyIdSchema, ReasonQuerySchema } from '../../../common/api/schemas.ts';
import type { PolicyService } from '../../policies/service.ts';
import { jsonBody, trailOf, validate } from '../context.ts';

const ParamsSchema = z.strictObject({ policy_id: PolicyIdSchema });

function ctxOf(request: FastifyRequest) {
  const { reason } = validate(ReasonQuerySchema, request.query, 'query');
  return { requestId: request.id, userId: request.accessKey, trail: trailOf(request), ...(reason ? { reason } : {}) };
}

export const policyRoutes: FastifyPluginAsync<{ policies: PolicyService }> = async (app, { policies }) => {
  app.post('/api/v1/policies', { config: { auth: true, operation: 'CONFIG_CHANGE' } }, async (request, reply) => {
    const ctx = ctxOf(request);
    const doc = validate(PolicyDocumentSchema, jsonBody(request), 'body');
    const out = await policies.create(doc, ctx);
    return out.applied ? reply.code(201).send(out.value) : reply.code(202).send(out.approval);
  });

  app.get('/api/v1/policies', { config: { auth: true } }, async () => ({ policies: await policies.list() }));

  app.get('/api/v1/policies/:policy_id', { config: { auth: true } }, async (request) => {
    const { policy_id } = validate(ParamsSchema, request.params, 'path');
    return policies.get(policy_id);
  });

  app.put(
    '/api/v1/policies/:policy_id',
    { config: { auth: true, operation: 'CONFIG_CHANGE' } },
    async (request, reply) => {
      const { policy_id } = validate(ParamsSchema, request.params, 'path');
      const ctx = ctxOf(request);
      const doc = validate(PolicyDocumentSchema, jsonBody(request), 'body');
      const out = await policies.update(policy_id, doc, ctx);
      return out.applied ? reply.code(200).send(out.value) : reply.code(202).send(out.approval);
    },
  );

  app.delete(
    '/api/v1/policies/:policy_id',
    { config: { auth: true, operation: 'CONFIG_CHANGE' } },
    async (request, reply) => {
      const { policy_id } = validate(ParamsSchema, request.params, 'path');
      const out = await policies.remove(policy_id, ctxOf(request));
      return out.applied ? reply.code(204).send() : reply.code(202).send(out.approval);
    },
  );
};
