/** /api/v1/access-keys: registers asymmetric access keys (the client made the key pair and keeps the private key). */
import type { FastifyPluginAsync } from 'fastify';
import { ClientPublicKeySchema } from '../../../common/authz/client-keys.ts';
import { CreateAccessKeyRequestSchema } from '../../../common/api/schemas.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { AccessKeyStore } from '../../auth/access-keys.ts';
import type { ClientPublicKeyStore } from '../../auth/client-public-keys.ts';
import { ApiError } from '../errors.ts';
import { jsonBody, trailOf, validate } from '../context.ts';

export const accessKeyRoutes: FastifyPluginAsync<{
  accessKeys: AccessKeyStore;
  publicKeys: ClientPublicKeyStore;
  audit: AuditLog;
}> = async (app, { accessKeys, publicKeys, audit }) => {
  app.post(
    '/api/v1/access-keys',
    { config: { auth: true, operation: 'CONFIG_CHANGE' } },
    async (request, reply) => {
      const body = validate(CreateAccessKeyRequestSchema, jsonBody(request), 'body');
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
      await accessKeys.upsert({
        accessKey: key.access_key,
        secretKey: '',
        enabled: true,
        allowedCidrs: [],
        description: body.description ?? null,
      });
      await audit.record({
        operation: 'CONFIG_CHANGE',
        result: 'SUCCESS',
        requestId: request.id,
        userId: request.accessKey,
        trail: {
          ...trailOf(request),
          access_key: key.access_key,
          algorithm: key.algorithm,
          public_key: key.public_key,
        },
      });
      return reply.code(201).send({ access_key: key.access_key, algorithm: key.algorithm, public_key: key.public_key });
    },
  );
};
