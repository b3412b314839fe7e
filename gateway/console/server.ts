/**
 * The admin console's HTTP server, on its own port: server-rendered pages, a session cookie
 * (Secure, HttpOnly, SameSite=Strict), a synchroniser CSRF token on every form, and every action
 * through the gateway's key service and audit log, as the HTTP API does.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type RawServerDefault } from 'fastify';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { ReloadingTls } from '../../common/pki/tls-files.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { AuditOperation } from '../audit/chain.ts';
import { mayPerform, type Role } from '../auth/roles.ts';
import type { GatewayConfig } from '../config.ts';
import type { MpcCoordinator } from '../coordinator/types.ts';
import type { Db } from '../db/index.ts';
import { httpsServerFactory } from '../http/app.ts';
import { trailOf } from '../http/context.ts';
import { ApiError } from '../http/errors.ts';
import type { KeyService, RequestContext } from '../keys/service.ts';
import { consolePages } from './routes.ts';
import { csrfMatches, type ConsoleSessionStore } from './sessions.ts';
import type { ConsoleUserStore } from './users.ts';
import { CONSOLE_CSS, CONSOLE_JS } from './views/assets.ts';
import { errorPage, loginPage, type Viewer } from './views/layout.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The logged-in console user, once the session checked out. */
    viewer?: Viewer & { roles: Role[] };
  }
}

export interface ConsoleDeps {
  config: GatewayConfig;
  db: Db;
  coordinator: MpcCoordinator;
  audit: AuditLog;
  logger: Logger;
  keys: KeyService;
  users: ConsoleUserStore;
  sessions: ConsoleSessionStore;
  tls?: ReloadingTls;
}

/** The session cookie; `__Host-` pins it to this origin and path / (RFC 6265bis section 4.1.3.2). */
export const SESSION_COOKIE = '__Host-custos-console';
/** A pre-login token, echoed by the login form: a third-party page cannot log a browser in. */
export const LOGIN_COOKIE = '__Host-custos-login';

const PUBLIC_PATHS = new Set(['/login', '/console.css', '/console.js', '/favicon.ico']);

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq).trim()] = decodeURIComponent(part.slice(eq + 1).trim());
  }
  return out;
}

export function cookie(name: string, value: string, maxAgeSeconds?: number): string {
  return [
    `${name}=${value}`,
    'Path=/',
    'Secure',
    'HttpOnly',
    'SameSite=Strict',
    ...(maxAgeSeconds !== undefined ? [`Max-Age=${maxAgeSeconds}`] : []),
  ].join('; ');
}

/** What an action of the console is audited as: the user, marked as a console user, and where from. */
export function consoleContext(request: FastifyRequest): RequestContext {
  return {
    requestId: request.id,
    userId: `console:${request.viewer!.username}`,
    trail: { ...trailOf(request), via: 'console' },
  };
}

export function formOf(request: FastifyRequest): Record<string, string> {
  return (request.body as Record<string, string> | undefined) ?? {};
}

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export function buildConsoleApp(
  deps: ConsoleDeps,
): FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, Logger> {
  const { audit, users, sessions, logger } = deps;
  const app = Fastify({
    ...(deps.tls ? { serverFactory: httpsServerFactory(deps.tls, logger) } : {}),
    loggerInstance: logger.child({ component: 'console' }),
    bodyLimit: 64 * 1024,
    genReqId: () => `con_${randomBytes(12).toString('hex')}`,
    requestIdHeader: false,
    disableRequestLogging: true,
  });
  app.decorateRequest('viewer', undefined);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });

  async function refuse(
    request: FastifyRequest,
    status: 401 | 403,
    reason: string,
    extra: Record<string, unknown> = {},
  ) {
    await audit.record({
      operation: 'AUTH_REJECTED',
      result: 'REJECTED',
      requestId: request.id,
      userId: request.viewer ? `console:${request.viewer.username}` : undefined,
      errorCode: status === 401 ? 'UNAUTHENTICATED' : 'FORBIDDEN',
      trail: { ...trailOf(request), via: 'console', reason, ...extra },
    });
    throw new ApiError(
      status,
      status === 401 ? 'UNAUTHENTICATED' : 'FORBIDDEN',
      status === 401 ? 'log in first' : `refused: ${reason.toLowerCase().replace(/_/g, ' ')}`,
      {},
      true,
    );
  }

  app.addHook('onSend', async (_request, reply) => {
    reply.headers(SECURITY_HEADERS);
  });

  // Every route but the login form and the assets needs a live session; every POST its CSRF token.
  app.addHook('preHandler', async (request, reply) => {
    const path = request.url.split('?')[0]!;
    if (PUBLIC_PATHS.has(path)) return;
    const token = parseCookies(request.headers.cookie)[SESSION_COOKIE];
    const session = await sessions.lookup(token);
    const roles = session ? await users.roles(session.username) : undefined;
    if (!session || !roles) {
      if (token && session) await sessions.destroy(token);
      if (request.method === 'GET' || request.method === 'HEAD') return reply.redirect('/login', 303);
      return refuse(request, 401, 'NO_SESSION');
    }
    request.viewer = { username: session.username, roles, csrfToken: session.csrfToken };
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      if (!csrfMatches(session.csrfToken, formOf(request)._csrf)) return refuse(request, 403, 'CSRF_TOKEN_MISMATCH');
    }
  });

  /** Refuses (and audits) an action the viewer's roles do not allow. */
  async function requireRole(request: FastifyRequest, operation: AuditOperation): Promise<void> {
    if (!mayPerform(request.viewer!.roles, operation)) {
      await refuse(request, 403, 'ROLE_NOT_ALLOWED', { roles: request.viewer!.roles, denied: operation });
    }
  }

  app.setErrorHandler(async (err: Error, request, reply) => {
    const status = err instanceof ApiError ? err.status : ((err as { statusCode?: number }).statusCode ?? 500);
    if (status >= 500) request.log.error({ err }, 'console error');
    const message = err instanceof ApiError || status < 500 ? err.message : 'internal error';
    return reply
      .code(status)
      .type('text/html; charset=utf-8')
      .send(errorPage(request.viewer, status, message));
  });
  app.setNotFoundHandler(async (request, reply) =>
    reply
      .code(404)
      .type('text/html; charset=utf-8')
      .send(errorPage(request.viewer, 404, `no page ${request.url.split('?')[0]}`)),
  );

  app.get('/console.css', async (_request, reply) => reply.type('text/css; charset=utf-8').send(CONSOLE_CSS));
  app.get('/favicon.ico', async (_request, reply) => reply.code(204).send());
  app.get('/console.js', async (_request, reply) => reply.type('text/javascript; charset=utf-8').send(CONSOLE_JS));

  // A second login page in the same browser (another tab, a redirect) keeps the token the first one showed.
  function showLogin(request: FastifyRequest, reply: FastifyReply, status: number, error?: string) {
    const current = parseCookies(request.headers.cookie)[LOGIN_COOKIE];
    const loginToken = current && /^[\w-]{32}$/.test(current) ? current : randomBytes(24).toString('base64url');
    return reply
      .code(status)
      .header('set-cookie', cookie(LOGIN_COOKIE, loginToken, 600))
      .type('text/html; charset=utf-8')
      .send(loginPage(loginToken, error));
  }

  app.get('/login', async (request, reply) => showLogin(request, reply, 200));

  app.post('/login', async (request, reply) => {
    const form = formOf(request);
    const username = String(form.username ?? '').slice(0, 64);
    const expected = parseCookies(request.headers.cookie)[LOGIN_COOKIE];
    const trail = { ...trailOf(request), via: 'console' };
    if (!expected || !csrfMatches(expected, form._login)) {
      await audit.record({
        operation: 'ADMIN_LOGIN',
        result: 'REJECTED',
        requestId: request.id,
        userId: username ? `console:${username}` : undefined,
        errorCode: 'CSRF_TOKEN_MISMATCH',
        trail,
      });
      return showLogin(request, reply, 403, 'The login form expired; please try again.');
    }
    const outcome = await users.login(username, String(form.password ?? ''), String(form.totp ?? ''));
    if (!outcome.ok) {
      await audit.record({
        operation: 'ADMIN_LOGIN',
        result: 'REJECTED',
        requestId: request.id,
        userId: username ? `console:${username}` : undefined,
        errorCode: outcome.reason,
        trail,
      });
      // One message for every failure: it does not tell which usernames exist.
      return showLogin(
        request,
        reply,
        401,
        'Login failed: wrong username, password or code, or the account is locked.',
      );
    }
    const { token } = await sessions.create(outcome.username);
    await audit.record({
      operation: 'ADMIN_LOGIN',
      result: 'SUCCESS',
      requestId: request.id,
      userId: `console:${outcome.username}`,
      trail: { ...trail, roles: outcome.roles },
    });
    return reply
      .header('set-cookie', [cookie(SESSION_COOKIE, token), cookie(LOGIN_COOKIE, '', 0)])
      .redirect('/health', 303);
  });

  app.post('/logout', async (request, reply) => {
    const token = parseCookies(request.headers.cookie)[SESSION_COOKIE];
    if (token) await sessions.destroy(token);
    await audit.record({
      operation: 'ADMIN_LOGOUT',
      result: 'SUCCESS',
      requestId: request.id,
      userId: `console:${request.viewer!.username}`,
      trail: { ...trailOf(request), via: 'console' },
    });
    return reply.header('set-cookie', cookie(SESSION_COOKIE, '', 0)).redirect('/login', 303);
  });

  app.get('/', async (_request, reply) => reply.redirect('/health', 303));
  app.register(consolePages, { ...deps, requireRole });
  return app;
}
