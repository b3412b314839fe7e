/** The operator's signed HTTP client for the gateway API (README "HTTP API"). */
import { randomBytes } from 'node:crypto';
import {
  IDEMPOTENCY_HEADER,
  KeySchema,
  ListKeysResponseSchema,
  OperationSchema,
  type GenerateKeyRequest,
  type Key,
  type Operation,
  type KeyStatus,
} from '../common/api/schemas.ts';
import { AUTH_HEADERS, signRequest } from '../common/auth/request-signing.ts';

export class GatewayError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`gateway ${status} ${code}: ${message}`);
  }
}

export interface GatewayCredentials {
  baseUrl: string;
  accessKey: string;
  secretKey: string;
  /** How requests are sent; the operator passes one that trusts only the cluster CA. */
  fetch?: typeof fetch;
}

export class GatewayClient {
  constructor(private readonly c: GatewayCredentials) {}

  private async call(
    method: string,
    pathWithQuery: string,
    body?: unknown,
    extra: Record<string, string> = {},
  ): Promise<unknown> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const timestampMs = Date.now();
    const nonce = randomBytes(16).toString('hex');
    const headers: Record<string, string> = {
      [AUTH_HEADERS.accessKey]: this.c.accessKey,
      [AUTH_HEADERS.timestamp]: String(timestampMs),
      [AUTH_HEADERS.nonce]: nonce,
      [AUTH_HEADERS.signature]: signRequest(this.c.secretKey, {
        method,
        pathWithQuery,
        timestampMs,
        nonce,
        body: text,
      }),
      ...extra,
    };
    if (text !== undefined) headers['content-type'] = 'application/json';
    const res = await (this.c.fetch ?? fetch)(new URL(pathWithQuery, this.c.baseUrl), {
      method,
      headers,
      body: text,
      signal: AbortSignal.timeout(120_000),
    });
    const json = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
    if (!res.ok)
      throw new GatewayError(res.status, json.error?.code ?? 'UNKNOWN', json.error?.message ?? res.statusText);
    return json;
  }

  /** Same idempotency key → the same key, never a second one. */
  async generate(req: GenerateKeyRequest, idempotencyKey: string): Promise<Key> {
    return KeySchema.parse(
      await this.call('POST', '/api/v1/keys/generate', req, { [IDEMPOTENCY_HEADER]: idempotencyKey }),
    );
  }

  async findByLabel(label: string): Promise<Key | undefined> {
    const r = ListKeysResponseSchema.parse(await this.call('GET', `/api/v1/keys?label=${encodeURIComponent(label)}`));
    return r.keys.find((k) => k.label === label);
  }

  async get(keyId: string): Promise<Key> {
    return KeySchema.parse(await this.call('GET', `/api/v1/keys/${keyId}`));
  }

  /** Starts a proactive share refresh; the answer is the PENDING operation. */
  async refresh(keyId: string): Promise<Operation> {
    return OperationSchema.parse(await this.call('POST', `/api/v1/keys/${keyId}/refresh`));
  }

  async operation(operationId: string): Promise<Operation> {
    return OperationSchema.parse(await this.call('GET', `/api/v1/operations/${operationId}`));
  }

  async setStatus(keyId: string, status: KeyStatus, reason: string): Promise<Key> {
    return KeySchema.parse(await this.call('PUT', `/api/v1/keys/${keyId}/status`, { status, reason }));
  }
}
