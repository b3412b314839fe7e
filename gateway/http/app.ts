/**
 * The gateway's HTTP app: raw-body parsing (the signature covers the bytes as received), request
 * ids, authentication, rate limiting, metrics, one error shape, and the routes.
 */
import Fastify, {
  LogController,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type RawServerDefault,
} from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { ErrorResponse } from '../../common/api/schemas.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { AccessKeyStore } from '../auth/access-keys.ts';
import { authenticate } from '../auth/authenticate.ts';
import { mayPerform } from '../auth/roles.ts';
import { createClientPublicKeyStore } from '../auth/client-public-keys.ts';
import { createSignPolicyStore } from '../keys/sign-policies.ts';
import { createAbortRecords } from '../aborts/abort-records.ts';
import { accessKeyRoutes } from './routes/access-keys.ts';
import type { NonceCache } from '../auth/nonce-cache.ts';
import type { GatewayConfig } from '../config.ts';
import type { MpcCoordinator } from '../coordinator/types.ts';
import type { Db } from '../db/index.ts';
import { createKeyService } from '../keys/service.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { RateLimiter } from '../ratelimit/token-bucket.ts';
import { createServer as createHttpsServer } from 'node:https';
import type { ReloadingTls } from '../../common/pki/tls-files.ts';
import { ApiError } from './errors.ts';
import { trailOf } from './context.ts';
import { keyRoutes } from './routes/keys.ts';
import { systemRoutes } from './routes/system.ts';

export interface GatewayDeps {
  config: GatewayConfig;
  db: Db;
  coordinator: MpcCoordinator;
  audit: AuditLog;
  logger: Logger;
  metrics: GatewayMetrics;
  accessKeys: AccessKeyStore;
  nonces: NonceCache;
  rateLimiter: RateLimiter;
  /** Serve HTTPS with this certificate, reloaded when its files change; plain HTTP without it. */
  tls?: ReloadingTls;
  /** True once the process is shutting down (/ready then answers 503); default never. */
  draining?: () => boolean;
}

/** An HTTPS server whose certificate follows the reloading TLS files (new handshakes only). */
function httpsServerFactory(tls: ReloadingTls, logger: Logger) {
  return (handler: (req: IncomingMessage, res: ServerResponse) => void) => {
    const { cert, key } = tls.current;
    const server = createHttpsServer({ cert, key, minVersion: 'TLSv1.2' }, handler);
    tls.onChange((m) => {
      server.setSecureContext({ cert: m.cert, key: m.key, minVersion: 'TLSv1.2' });
      logger.info('HTTPS certificate reloaded');
    });
    return server as unknown as RawServerDefault;
  };
}

/** Fastify's own errors (body limit, content length, ...) as API errors. */
function toApiError(err: FastifyError | Error): ApiError | undefined {
  if (err instanceof ApiError) return err;
  const status = (err as FastifyError).statusCode;
  if (status === 413) return new ApiError(413, 'PAYLOAD_TOO_LARGE', 'request body is over the size limit');
  if (status === 404) return new ApiError(404, 'NOT_FOUND', err.message);
  if (status !== undefined && status >= 400 && status < 500) return new ApiError(400, 'BAD_REQUEST', err.message);
  return undefined;
}

export function buildGatewayApp(
  deps: GatewayDeps,
): FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, Logger> {
  const { config, audit, metrics, logger } = deps;
  const app = Fastify({
    ...(deps.tls ? { serverFactory: httpsServerFactory(deps.tls, logger) } : {}),
    loggerInstance: logger,
    bodyLimit: config.body_limit_bytes,
    genReqId: () => `req_${randomBytes(12).toString('hex')}`,
    requestIdHeader: false,
    // Headers may carry the signature: keep them out of request logs.
    logController: new LogController({ disableRequestLogging: true }),
  });
  const publicKeys = createClientPublicKeyStore(deps.db);
  app.decorateRequest('accessKey', undefined);
  app.decorateRequest('startedAt', 0);

  // Every body is kept as raw bytes: the request signature covers them exactly as received.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.addHook('onRequest', async (request, reply) => {
    request.startedAt = performance.now();
    reply.header('x-request-id', request.id);
  });

  app.addHook('preValidation', async (request) => {
    if (!request.routeOptions.config.auth) return;
    const outcome = await authenticate(
      {
        method: request.method,
        url: request.url,
        headers: request.headers,
        body: request.body instanceof Uint8Array ? request.body : undefined,
        ip: request.ip,
      },
      { keys: deps.accessKeys, nonces: deps.nonces, publicKeys },
    );
    if (!outcome.ok) {
      const code = outcome.status === 401 ? 'UNAUTHENTICATED' : 'FORBIDDEN';
      await audit.record({
        operation: 'AUTH_REJECTED',
        result: 'REJECTED',
        requestId: request.id,
        userId: outcome.accessKey,
        errorCode: code,
        trail: { ...trailOf(request), reason: outcome.reason },
      });
      throw new ApiError(outcome.status, code, outcome.message, {}, true);
    }
    request.accessKey = outcome.accessKey;
    const operation = request.routeOptions.config.operation;
    if (!mayPerform(outcome.roles, operation)) {
      await audit.record({
        operation: 'AUTH_REJECTED',
        result: 'REJECTED',
        requestId: request.id,
        userId: outcome.accessKey,
        errorCode: 'FORBIDDEN',
        trail: { ...trailOf(request), reason: 'ROLE_NOT_ALLOWED', roles: outcome.roles, denied: operation ?? null },
      });
      throw new ApiError(
        403,
        'FORBIDDEN',
        `access key roles (${outcome.roles.join(', ')}) do not allow ${operation}`,
        {},
        true,
      );
    }
    const limit = await deps.rateLimiter.take(outcome.accessKey);
    if (!limit.allowed) {
      throw new ApiError(429, 'RATE_LIMITED', 'too many requests for this access key', {
        'retry-after': String(limit.retryAfterS),
      });
    }
  });

  app.addHook('onResponse', async (request, reply) => {
    const labels = { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: reply.statusCode };
    metrics.httpRequests.inc(labels);
    metrics.httpDuration.observe(labels, (performance.now() - request.startedAt) / 1000);
  });

  async function sendError(err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) {
    const apiErr = toApiError(err) ?? new ApiError(500, 'INTERNAL', 'internal error');
    if (apiErr.status >= 500 && !(err instanceof ApiError)) request.log.error({ err }, 'unhandled error');
    if (!apiErr.audited) {
      try {
        const keyId = (request.params as { key_id?: unknown } | undefined)?.key_id;
        await audit.record({
          operation: 'REQUEST_REJECTED',
          result: apiErr.status >= 500 ? 'FAILURE' : 'REJECTED',
          requestId: request.id,
          userId: request.accessKey,
          keyId: typeof keyId === 'string' && keyId.length <= 64 ? keyId : undefined,
          errorCode: apiErr.code,
          durationMs: performance.now() - request.startedAt,
          trail: { ...trailOf(request), status: apiErr.status, route: request.routeOptions.url ?? null },
        });
      } catch (auditErr) {
        request.log.error({ err: auditErr }, 'audit write failed');
      }
    }
    const payload: ErrorResponse = { error: { code: apiErr.code, message: apiErr.message, request_id: request.id } };
    return reply.code(apiErr.status).headers(apiErr.headers).send(payload);
  }

  app.setErrorHandler(sendError);
  app.setNotFoundHandler((request, reply) =>
    sendError(
      new ApiError(404, 'NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`),
      request,
      reply,
    ),
  );

  const keys = createKeyService({
    db: deps.db,
    coordinator: deps.coordinator,
    audit,
    metrics,
    algorithms: config.algorithms,
    nodeCount: config.nodes.length,
    mpcTimeoutMs: config.mpc_timeout_ms,
    publicKeys,
    signPolicies: createSignPolicyStore(deps.db),
    aborts: createAbortRecords({ db: deps.db, metrics }),
  });
  app.register(keyRoutes, { keys });
  app.register(accessKeyRoutes, { accessKeys: deps.accessKeys, publicKeys, audit });
  app.register(systemRoutes, {
    coordinator: deps.coordinator,
    metrics,
    nodeCount: config.nodes.length,
    draining: deps.draining ?? (() => false),
  });
  return app;
}
