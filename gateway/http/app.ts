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
import { mayPerform, rolesGranting } from '../auth/roles.ts';
import { createClientPublicKeyStore } from '../auth/client-public-keys.ts';
import { createSignPolicyStore } from '../keys/sign-policies.ts';
import { createAbortRecords } from '../aborts/abort-records.ts';
import { accessKeyRoutes } from './routes/access-keys.ts';
import type { NonceCache } from '../auth/nonce-cache.ts';
import type { GatewayConfig } from '../config.ts';
import type { MpcCoordinator } from '../coordinator/types.ts';
import type { Db } from '../db/index.ts';
import { createKeyService, type KeyService } from '../keys/service.ts';
import { createRefreshService } from '../keys/refresh.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { RateLimiter } from '../ratelimit/token-bucket.ts';
import { createServer as createHttpsServer } from 'node:https';
import type { ReloadingTls } from '../../common/pki/tls-files.ts';
import { ApiError } from './errors.ts';
import { trailOf } from './context.ts';
import { createMethodIndex } from './method-index.ts';
import { auditRoutes } from './routes/audit.ts';
import { keyRoutes } from './routes/keys.ts';
import { backupRoutes } from './routes/backups.ts';
import type { BackupService } from '../backups/service.ts';
import { admitted, createAdmission } from '../admission/admission.ts';
import { systemRoutes } from './routes/system.ts';
import { createApprovalService, type ApprovalService } from '../approvals/service.ts';
import { adminAccessKeyGate, adminCreationStatus } from '../approvals/admin-access-keys.ts';
import { createPolicyService, type PolicyService } from '../policies/service.ts';
import { createPolicyStore } from '../policies/store.ts';
import { createVelocityLedger } from '../policies/velocity.ts';
import { approvalRoutes } from './routes/approvals.ts';
import { policyRoutes } from './routes/policies.ts';

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
  /** The services, when the console shares them; built here otherwise. */
  services?: GatewayServices;
  /** Backup sets; undefined when no object store is configured. */
  backups?: BackupService;
  /** True once the process is shutting down (/ready then answers 503); default never. */
  draining?: () => boolean;
}

/** The gateway's services, shared by the HTTP API and the console: one service layer, one audit. */
export interface GatewayServices {
  keys: KeyService;
  approvals: ApprovalService;
  policies: PolicyService;
}

export function createGatewayServices(
  deps: Pick<GatewayDeps, 'config' | 'db' | 'coordinator' | 'audit' | 'metrics'>,
): GatewayServices {
  const { config, db, audit, metrics } = deps;
  // Governance: approvals, policies and the shared velocity ledger (docs/policies-and-approvals.md).
  const approvals = createApprovalService({ db, audit, expirySeconds: config.approvals.expiry_seconds });
  const policies = createPolicyService({
    store: createPolicyStore(db),
    velocity: createVelocityLedger(db),
    approvals,
    audit,
  });
  const service = createKeyService({
    db,
    coordinator: deps.coordinator,
    audit,
    metrics,
    algorithms: config.algorithms,
    nodeCount: config.nodes.length,
    mpcTimeoutMs: config.mpc_timeout_ms,
    publicKeys: createClientPublicKeyStore(db),
    signPolicies: createSignPolicyStore(db),
    aborts: createAbortRecords({ db, metrics }),
    policies,
    approvals,
    destructionApproval: {
      source: 'gateway:key_destruction',
      required: config.approvals.key_destruction_required,
      approvers: null,
    },
  });
  // Every MPC session behind admission control, for the API and the console alike.
  const keys = admitted(service, createAdmission(config.admission));
  return { keys, approvals, policies };
}

/** An HTTPS server whose certificate follows the reloading TLS files (new handshakes only). */
export function httpsServerFactory(tls: ReloadingTls, logger: Logger) {
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

function methodNotAllowed(method: string, path: string, allowed: string[]): ApiError {
  return new ApiError(405, 'METHOD_NOT_ALLOWED', `${method} is not supported on ${path}`, {
    allow: allowed.join(', '),
  });
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
    // X-Forwarded-For is believed only from the configured proxies (gateway/README.md "Configuration").
    trustProxy: config.trusted_proxies.length > 0 ? config.trusted_proxies : false,
    // Headers may carry the signature: keep them out of request logs.
    logController: new LogController({ disableRequestLogging: true }),
  });
  const publicKeys = createClientPublicKeyStore(deps.db);
  app.decorateRequest('accessKey', undefined);
  app.decorateRequest('scopes', undefined);
  app.decorateRequest('startedAt', 0);

  // Every body is kept as raw bytes: the request signature covers them exactly as received.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  const methods = createMethodIndex();
  app.addHook('onRoute', (route) => methods.add(route.url, route.method));
  app.addHook('onRequest', async (request, reply) => {
    request.startedAt = performance.now();
    reply.header('x-request-id', request.id);
    const path = request.url.split('?')[0]!;
    const served = methods.staticAllowed(path);
    if (served.length > 0 && !served.includes(request.method)) throw methodNotAllowed(request.method, path, served);
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
    request.scopes = outcome.scopes;
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
        `access key roles (${outcome.roles.join(', ')}) do not allow ${operation}: ` +
          `missing role ${rolesGranting(operation!).join(' or ')}`,
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
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    const allowed = methods.allowed(path);
    if (allowed.length > 0) return sendError(methodNotAllowed(request.method, path, allowed), request, reply);
    return sendError(new ApiError(404, 'NOT_FOUND', `no route ${request.method} ${path}`), request, reply);
  });

  const { keys, approvals, policies } = deps.services ?? createGatewayServices(deps);
  app.register(policyRoutes, { policies });
  app.register(approvalRoutes, { approvals });
  const refresh = createRefreshService({
    db: deps.db,
    coordinator: deps.coordinator,
    audit,
    logger,
    algorithms: config.algorithms,
  });
  // A refresh the previous gateway process left unfinished is discarded or finished first.
  app.addHook('onReady', async () => {
    await refresh
      .recover()
      .catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'refresh recovery failed'));
  });
  app.addHook('onClose', async () => refresh.close());
  app.register(keyRoutes, {
    keys,
    refresh,
    scopedKey: async (keyId) => {
      const row = await deps.db
        .selectFrom('keys')
        .select(['key_id', 'label'])
        .where('key_id', '=', keyId)
        .executeTakeFirst();
      if (!row) throw new ApiError(404, 'NOT_FOUND', `key ${keyId} not found`);
      return row;
    },
  });
  app.register(accessKeyRoutes, {
    accessKeys: deps.accessKeys,
    publicKeys,
    audit,
    adminApproval: {
      gate: adminAccessKeyGate(approvals, config.approvals.admin_access_key_required),
      status: (accessKey) => adminCreationStatus(deps.db, accessKey),
    },
  });
  app.register(backupRoutes, { backups: deps.backups, audit });
  app.register(auditRoutes, {
    db: deps.db,
    audit,
    checkpointEvery: config.audit.checkpoint_every,
    checkpointIntervalMs: config.audit.checkpoint_interval_seconds * 1000,
  });
  app.register(systemRoutes, {
    coordinator: deps.coordinator,
    metrics,
    nodeCount: config.nodes.length,
    backupStatus: deps.backups?.status,
    draining: deps.draining ?? (() => false),
  });
  return app;
}
