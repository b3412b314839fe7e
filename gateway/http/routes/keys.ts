/** /api/v1/keys: generate, get, list, status, sign. Every route is signed (config.auth). */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  CURVE_OF_ALGORITHM,
  GenerateKeyRequestSchema,
  GetKeyQuerySchema,
  IDEMPOTENCY_HEADER,
  KeyIdSchema,
  ListKeysQuerySchema,
  ReasonQuerySchema,
  OperationIdSchema,
  SIGN_AUTHORIZATION_HEADER,
  SignPolicyChangeRequestSchema,
  SignRequestSchema,
  UpdateStatusRequestSchema,
  type Algorithm,
  type Key,
} from '../../../common/api/schemas.ts';
import { AUTH_HEADERS } from '../../../common/auth/request-signing.ts';
import { addressesFor } from '../../../common/chains/addresses.ts';
import type { RefreshService } from '../../keys/refresh.ts';
import type { KeyService, RequestContext } from '../../keys/service.ts';
import { describeScopes, inScope, mayCreateLabel, type ScopedKey } from '../../auth/scopes.ts';
import { ApiError } from '../errors.ts';
import { jsonBody, requireScope, trailOf, validate } from '../context.ts';

const ParamsSchema = z.object({ key_id: KeyIdSchema }).strict();
const IdempotencyKeySchema = z
  .string()
  .regex(/^[\x21-\x7e]{1,255}$/, 'Idempotency-Key: 1 to 255 visible ASCII characters')
  .optional();

function ctxOf(request: FastifyRequest): RequestContext {
  return { requestId: request.id, userId: request.accessKey, trail: trailOf(request) };
}

const SignAuthorizationHeaderSchema = z
  .string()
  .regex(/^[0-9a-f]{128}$/, `${SIGN_AUTHORIZATION_HEADER}: 64-byte signature in lowercase hex`)
  .optional();

/** The sign authorisation travels with the request's own (already verified) timestamp and nonce. */
function clientAuthorizationOf(request: FastifyRequest): RequestContext['clientAuthorization'] {
  const signature = validate(SignAuthorizationHeaderSchema, request.headers[SIGN_AUTHORIZATION_HEADER], 'header');
  if (signature === undefined) return undefined;
  return {
    signature,
    timestampMs: Number(request.headers[AUTH_HEADERS.timestamp]),
    nonce: String(request.headers[AUTH_HEADERS.nonce]),
  };
}

/** A format that names algo_type but no curve gets the algorithm's curve instead of the default one. */
function withImpliedCurve(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const format = (body as { format?: unknown }).format;
  if (typeof format !== 'object' || format === null || Array.isArray(format)) return body;
  const { algo_type: algo, curve } = format as { algo_type?: unknown; curve?: unknown };
  if (curve !== undefined || typeof algo !== 'string' || !(algo in CURVE_OF_ALGORITHM)) return body;
  return { ...body, format: { ...format, curve: CURVE_OF_ALGORITHM[algo as Algorithm] } };
}

/** Stored addresses are mainnet; testnet ones are derived from the same public key on request. */
export function withBitcoinNetwork(key: Key, network: 'mainnet' | 'testnet'): Key {
  if (network === 'mainnet' || key.format.curve !== 'SECP256K1') return key;
  const derived = addressesFor(key.format.curve, Buffer.from(key.public_key.slice(2), 'hex'), {
    bitcoinNetwork: network,
  });
  return { ...key, addresses: derived.addresses };
}

const OperationParamsSchema = z.object({ operation_id: OperationIdSchema }).strict();

export const keyRoutes: FastifyPluginAsync<{
  keys: KeyService;
  refresh: RefreshService;
  /** The id and label a scope is matched against; throws 404 for an unknown key. */
  scopedKey: (keyId: string) => Promise<ScopedKey>;
}> = async (app, { keys, refresh, scopedKey }) => {
  /** The path's key id, once the caller's scopes reach that key (403 names the missing scope). */
  async function scopedKeyId(request: FastifyRequest): Promise<string> {
    const { key_id } = validate(ParamsSchema, request.params, 'path');
    requireScope(request, await scopedKey(key_id));
    return key_id;
  }

  app.post(
    '/api/v1/keys/:key_id/refresh',
    { config: { auth: true, operation: 'KEY_REFRESH' } },
    async (request, reply) => {
      const key_id = await scopedKeyId(request);
      const operation = await refresh.start(key_id, ctxOf(request));
      return reply.code(202).header('location', `/api/v1/operations/${operation.operation_id}`).send(operation);
    },
  );

  app.get('/api/v1/operations/:operation_id', { config: { auth: true } }, async (request) => {
    const { operation_id } = validate(OperationParamsSchema, request.params, 'path');
    return refresh.get(operation_id);
  });

  app.post('/api/v1/keys/generate', { config: { auth: true, operation: 'KEY_GENERATE' } }, async (request, reply) => {
    const idempotencyKey = validate(IdempotencyKeySchema, request.headers[IDEMPOTENCY_HEADER], 'header');
    const body = validate(GenerateKeyRequestSchema, withImpliedCurve(jsonBody(request)), 'body');
    if (!mayCreateLabel(request.scopes ?? [], body.label)) {
      throw new ApiError(
        403,
        'FORBIDDEN',
        `a key labelled ${body.label ?? '(none)'} is outside the access key's scopes (${describeScopes(request.scopes ?? [])}): ` +
          'missing a label or label_prefix scope for it',
      );
    }
    const { key, created } = await keys.generate(body, { ...ctxOf(request), idempotencyKey });
    return reply.code(created ? 201 : 200).send(key);
  });

  app.get('/api/v1/keys', { config: { auth: true } }, async (request) => {
    const page = await keys.list(validate(ListKeysQuerySchema, request.query, 'query'));
    // Out-of-scope keys are left out; the cursor still walks every key, so a page may run short.
    const scopes = request.scopes ?? [];
    return { ...page, keys: page.keys.filter((k) => inScope(scopes, k)) };
  });

  app.get('/api/v1/keys/:key_id', { config: { auth: true } }, async (request) => {
    const key_id = await scopedKeyId(request);
    const { bitcoin_network } = validate(GetKeyQuerySchema, request.query, 'query');
    return withBitcoinNetwork(await keys.get(key_id), bitcoin_network);
  });

  app.put(
    '/api/v1/keys/:key_id/status',
    { config: { auth: true, operation: 'KEY_STATUS_CHANGE' } },
    async (request, reply) => {
      const key_id = await scopedKeyId(request);
      const body = validate(UpdateStatusRequestSchema, jsonBody(request), 'body');
      const out = await keys.setStatus(key_id, body.status, body.reason, ctxOf(request));
      return 'approval' in out ? reply.code(202).send(out.approval) : out.done;
    },
  );

  app.post('/api/v1/keys/:key_id/sign', { config: { auth: true, operation: 'KEY_SIGN' } }, async (request, reply) => {
    const key_id = await scopedKeyId(request);
    const body = validate(SignRequestSchema, jsonBody(request), 'body');
    const out = await keys.sign(key_id, body, {
      ...ctxOf(request),
      clientAuthorization: clientAuthorizationOf(request),
    });
    // A sign a policy routes to approval: 202 with the approval; its result is fetched from the approval.
    return 'approval' in out ? reply.code(202).send(out.approval) : out.done;
  });

  // Destruction always goes through approval (docs/policies-and-approvals.md "Key destruction").
  app.delete('/api/v1/keys/:key_id', { config: { auth: true, operation: 'KEY_DESTROY' } }, async (request, reply) => {
    const key_id = await scopedKeyId(request);
    const { reason } = validate(ReasonQuerySchema, request.query, 'query');
    return reply.code(202).send(await keys.destroy(key_id, reason, ctxOf(request)));
  });

  app.get('/api/v1/keys/:key_id/aborts', { config: { auth: true } }, async (request) => {
    const key_id = await scopedKeyId(request);
    return keys.abortSummary(key_id);
  });

  app.delete(
    '/api/v1/keys/:key_id/aborts',
    { config: { auth: true, operation: 'ABORT_COUNT_CLEAR' } },
    async (request) => {
      const key_id = await scopedKeyId(request);
      return keys.clearAbortCounts(key_id, ctxOf(request));
    },
  );

  app.put(
    '/api/v1/keys/:key_id/sign-policy',
    { config: { auth: true, operation: 'KEY_POLICY_CHANGE' } },
    async (request) => {
      const key_id = await scopedKeyId(request);
      const body = validate(SignPolicyChangeRequestSchema, jsonBody(request), 'body');
      return keys.changeSignPolicy(key_id, body, ctxOf(request));
    },
  );
};
