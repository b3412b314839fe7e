/**
 * /api/v1/access-keys: create (an HMAC secret answered once, or the public half of an asymmetric
 * key the client made), list (never a secret), rotate, enable/disable, allow-list and scopes. Every
 * change is admin-only and audited as CONFIG_CHANGE with the old and new value (never a secret).
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ClientPublicKeySchema } from '../../../common/authz/client-keys.ts';
import {
  AccessKeyIdSchema,
  CreateAccessKeyRequestSchema,
  RotateAccessKeyRequestSchema,
  UpdateAccessKeyStatusRequestSchema,
  UpdateAllowedCidrsRequestSchema,
  UpdateScopesRequestSchema,
  type AccessKeyInfo,
} from '../../../common/api/schemas.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import { newAccessKeyId, newSecretKey, type AccessKey, type AccessKeyStore } from '../../auth/access-keys.ts';
import type { ClientPublicKeyStore } from '../../auth/client-public-keys.ts';
import type { AdminAccessKeyGate } from '../../approvals/admin-access-keys.ts';
import type { ApprovalStatus } from '../../approvals/state.ts';
import { ApiError } from '../errors.ts';
import { jsonBody, trailOf, validate } from '../context.ts';

const ParamsSchema = z.object({ id: AccessKeyIdSchema }).strict();

/** An access key as the API shows it: never the secret. */
export function infoOf(key: AccessKey, kind: AccessKeyInfo['kind']): AccessKeyInfo {
  return {
    access_key: key.accessKey,
    name: key.name,
    status: key.enabled ? 'ENABLED' : 'DISABLED',
    roles: key.roles,
    scopes: key.scopes,
    allowed_cidrs: key.allowedCidrs,
    kind,
    created_at: key.createdAt,
    previous_secret_expires_at: key.previousSecret?.expiresAt ?? null,
  };
}

export const accessKeyRoutes: FastifyPluginAsync<{
  accessKeys: AccessKeyStore;
  publicKeys: ClientPublicKeyStore;
  audit: AuditLog;
  /** Four-eyes for keys with the `admin` role (docs/policies-and-approvals.md). */
  adminApproval: { gate: AdminAccessKeyGate; status: (accessKey: string) => Promise<ApprovalStatus | 'none'> };
}> = async (app, { accessKeys, publicKeys, audit, adminApproval }) => {
  const kindOf = async (accessKey: string): Promise<AccessKeyInfo['kind']> =>
    (await publicKeys.get(accessKey))?.algorithm ?? 'HMAC';

  async function existing(request: FastifyRequest): Promise<AccessKey> {
    const { id } = validate(ParamsSchema, request.params, 'path');
    const key = await accessKeys.get(id);
    if (!key) throw new ApiError(404, 'NOT_FOUND', `no access key ${id}`);
    return key;
  }

  // The approved creation only enables the key: its secret went to the requester at request time.
  adminApproval.gate.onApproved(async (payload, requester, ctx) => {
    const accessKey = AccessKeyIdSchema.parse(payload.access_key);
    const key = await accessKeys.get(accessKey);
    if (!key) throw new ApiError(404, 'NOT_FOUND', `no access key ${accessKey}`);
    await accessKeys.setEnabled(accessKey, true);
    await audit.record({
      operation: 'CONFIG_CHANGE',
      result: 'SUCCESS',
      requestId: ctx.requestId,
      userId: ctx.userId,
      trail: { ...ctx.trail, item: 'access_key', change: 'STATUS', access_key: accessKey, requester, new: 'ENABLED' },
    });
    return { access_key: accessKey, status: 'ENABLED' };
  });

  /** An admin key is created disabled and enabled only by an approval (never its own requester's). */
  async function fileAdminApproval(request: FastifyRequest, accessKey: string) {
    return adminApproval.gate.request(
      { access_key: accessKey },
      { requestId: request.id, userId: request.accessKey ?? 'unknown', trail: trailOf(request) },
    );
  }

  const changed = (request: FastifyRequest, accessKey: string, change: string, detail: Record<string, unknown>) =>
    audit.record({
      operation: 'CONFIG_CHANGE',
      result: 'SUCCESS',
      requestId: request.id,
      userId: request.accessKey,
      trail: { ...trailOf(request), item: 'access_key', change, access_key: accessKey, ...detail },
    });

  app.post('/api/v1/access-keys', { config: { auth: true, operation: 'CONFIG_CHANGE' } }, async (request, reply) => {
    const body = validate(CreateAccessKeyRequestSchema, jsonBody(request), 'body');
    const needsApproval = body.roles.includes('admin');
    const settings = {
      enabled: !needsApproval,
      allowedCidrs: body.allowed_cidrs,
      roles: body.roles,
      scopes: body.scopes,
      name: body.name ?? null,
      description: body.description ?? null,
    };
    const detail = { roles: body.roles, scopes: body.scopes, allowed_cidrs: body.allowed_cidrs, name: body.name };
    if (body.public_key !== undefined) {
      const key = validate(
        ClientPublicKeySchema,
        { access_key: body.access_key, algorithm: body.algorithm, public_key: body.public_key },
        'body',
      );
      if ((await accessKeys.get(key.access_key)) || (await publicKeys.get(key.access_key))) {
        throw new ApiError(409, 'CONFLICT', `access key ${key.access_key} already exists`);
      }
      await publicKeys.add(key);
      // No HMAC secret: requests from this key verify against its public key only.
      if (!(await accessKeys.create({ accessKey: key.access_key, secretKey: '', ...settings }))) {
        throw new ApiError(409, 'CONFLICT', `access key ${key.access_key} already exists`);
      }
      await changed(request, key.access_key, 'CREATE', {
        ...detail,
        algorithm: key.algorithm,
        public_key: key.public_key,
      });
      const created = {
        ...infoOf((await accessKeys.get(key.access_key))!, key.algorithm),
        algorithm: key.algorithm,
        public_key: key.public_key,
      };
      if (!needsApproval) return reply.code(201).send(created);
      return reply.code(202).send({ ...created, approval: await fileAdminApproval(request, key.access_key) });
    }
    const accessKey = newAccessKeyId();
    const secretKey = newSecretKey();
    if (!(await accessKeys.create({ accessKey, secretKey, ...settings }))) {
      throw new ApiError(409, 'CONFLICT', 'access key id collision; retry');
    }
    await changed(request, accessKey, 'CREATE', detail);
    const created = { ...infoOf((await accessKeys.get(accessKey))!, 'HMAC'), secret_key: secretKey };
    if (!needsApproval) return reply.code(201).send(created);
    // 202: the secret is shown this once, to the requester; the key works once approved.
    return reply.code(202).send({ ...created, approval: await fileAdminApproval(request, accessKey) });
  });

  app.get('/api/v1/access-keys', { config: { auth: true, operation: 'CONFIG_CHANGE' } }, async () => {
    const keys = await accessKeys.list();
    return { access_keys: await Promise.all(keys.map(async (k) => infoOf(k, await kindOf(k.accessKey)))) };
  });

  app.get('/api/v1/access-keys/:id', { config: { auth: true, operation: 'CONFIG_CHANGE' } }, async (request) => {
    const key = await existing(request);
    return infoOf(key, await kindOf(key.accessKey));
  });

  app.post(
    '/api/v1/access-keys/:id/rotate',
    { config: { auth: true, operation: 'CONFIG_CHANGE' } },
    async (request) => {
      const key = await existing(request);
      const raw = request.body instanceof Uint8Array && request.body.length > 0 ? jsonBody(request) : {};
      const { grace_seconds } = validate(RotateAccessKeyRequestSchema, raw, 'body');
      if ((await kindOf(key.accessKey)) !== 'HMAC') {
        throw new ApiError(
          409,
          'CONFLICT',
          `${key.accessKey} is asymmetric: the client rotates by registering a new key`,
        );
      }
      const secretKey = newSecretKey();
      const graceUntil = new Date(Date.now() + grace_seconds * 1000).toISOString();
      await accessKeys.rotate(key.accessKey, secretKey, graceUntil);
      await changed(request, key.accessKey, 'ROTATE', { previous_secret_valid_until: graceUntil });
      return { ...infoOf((await accessKeys.get(key.accessKey))!, 'HMAC'), secret_key: secretKey };
    },
  );

  app.put('/api/v1/access-keys/:id/status', { config: { auth: true, operation: 'CONFIG_CHANGE' } }, async (request) => {
    const key = await existing(request);
    const { status } = validate(UpdateAccessKeyStatusRequestSchema, jsonBody(request), 'body');
    if (key.accessKey === request.accessKey && status === 'DISABLED') {
      throw new ApiError(409, 'CONFLICT', 'an access key cannot disable itself');
    }
    if (status === 'ENABLED' && !key.enabled) {
      const creation = await adminApproval.status(key.accessKey);
      if (creation !== 'none' && creation !== 'EXECUTED') {
        throw new ApiError(
          409,
          'CONFLICT',
          `${key.accessKey} is an admin key whose creation approval is ${creation}: only that approval enables it`,
        );
      }
    }
    await accessKeys.setEnabled(key.accessKey, status === 'ENABLED');
    await changed(request, key.accessKey, 'STATUS', { old: key.enabled ? 'ENABLED' : 'DISABLED', new: status });
    return infoOf({ ...key, enabled: status === 'ENABLED' }, await kindOf(key.accessKey));
  });

  app.put(
    '/api/v1/access-keys/:id/allowed-cidrs',
    { config: { auth: true, operation: 'CONFIG_CHANGE' } },
    async (request) => {
      const key = await existing(request);
      const { allowed_cidrs } = validate(UpdateAllowedCidrsRequestSchema, jsonBody(request), 'body');
      await accessKeys.setAllowedCidrs(key.accessKey, allowed_cidrs);
      await changed(request, key.accessKey, 'ALLOWED_CIDRS', { old: key.allowedCidrs, new: allowed_cidrs });
      return infoOf({ ...key, allowedCidrs: allowed_cidrs }, await kindOf(key.accessKey));
    },
  );

  app.put('/api/v1/access-keys/:id/scopes', { config: { auth: true, operation: 'CONFIG_CHANGE' } }, async (request) => {
    const key = await existing(request);
    const { scopes } = validate(UpdateScopesRequestSchema, jsonBody(request), 'body');
    await accessKeys.setScopes(key.accessKey, scopes);
    await changed(request, key.accessKey, 'SCOPES', { old: key.scopes, new: scopes });
    return infoOf({ ...key, scopes }, await kindOf(key.accessKey));
  });
};
