/** Per-request helpers shared by the hooks and routes. */
import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { describeIssues } from '../../common/chains/digests.ts';
import type { Permission } from '../auth/roles.ts';
import { describeScopes, inScope, type ScopedKey, type Scope } from '../auth/scopes.ts';
import { ApiError } from './errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated access key, once the signature verified. */
    accessKey?: string;
    /** The access key's scopes (empty: every key), once authenticated. */
    scopes?: Scope[];
    startedAt: number;
  }
  interface FastifyContextConfig {
    /** Route requires a request signature. */
    auth?: boolean;
    /** What a failure of this route is audited as. */
    operation?: Permission;
  }
}

/** Who and where, for the audit log: never headers that carry credentials, never the body. */
export function trailOf(request: FastifyRequest): Record<string, unknown> {
  return {
    ip: request.ip,
    user_agent: request.headers['user-agent'] ?? null,
    method: request.method,
    path: request.url,
  };
}

/** Validates with a zod schema; failures are 400 VALIDATION_FAILED naming each bad field. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ApiError(400, 'VALIDATION_FAILED', `${what}: ${describeIssues(parsed.error.issues)}`);
  return parsed.data;
}

/** The raw body (kept as bytes for the signature) parsed as JSON; 400 BAD_REQUEST when it is not. */
export function jsonBody(request: FastifyRequest): unknown {
  const raw = request.body;
  const type = String(request.headers['content-type'] ?? '');
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new ApiError(400, 'BAD_REQUEST', 'Content-Type must be application/json');
  }
  if (!(raw instanceof Uint8Array) || raw.length === 0) throw new ApiError(400, 'BAD_REQUEST', 'request body is empty');
  try {
    return JSON.parse(Buffer.from(raw).toString('utf8')) as unknown;
  } catch {
    throw new ApiError(400, 'BAD_REQUEST', 'request body is not valid JSON');
  }
}

/**
 * 403 FORBIDDEN naming the scopes unless the authenticated access key's scopes reach `key`.
 * Called after the key was loaded, so an unknown key stays a 404.
 */
export function requireScope(request: FastifyRequest, key: ScopedKey): void {
  const scopes = request.scopes ?? [];
  if (!inScope(scopes, key)) {
    throw new ApiError(
      403,
      'FORBIDDEN',
      `key ${key.key_id} is outside the access key's scopes (${describeScopes(scopes)}): missing scope key_id=${key.key_id}` +
        (key.label === null ? '' : ` or label=${key.label}`),
    );
  }
}
