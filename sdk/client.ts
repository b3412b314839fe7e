import { createPrivateKey, createPublicKey, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import {
  AccessKeyInfoSchema,
  AccessKeySecretResponseSchema,
  AuditPageSchema,
  AuditVerifyResponseSchema,
  ListAccessKeysResponseSchema,
  ErrorResponseSchema,
  IDEMPOTENCY_HEADER,
  KeySchema,
  ListKeysResponseSchema,
  OperationSchema,
  ReadyResponseSchema,
  SignResponseSchema,
  BackupCreatedSchema,
  BackupListSchema,
  SIGN_AUTHORIZATION_HEADER,
} from '../common/api/schemas.ts';
import type { Operation } from '../common/api/schemas.ts';
import type {
  AccessKeyInfo,
  AuditItem,
  AuditPage,
  AuditQuery,
  AuditVerifyResponse,
  CreateAccessKeyRequestSchema,
  BackupReportSchema,
  GenerateKeyRequestSchema,
  Key,
  ListKeysQuery,
  ListKeysResponse,
  SignRequest,
  SignResponse,
  UpdateStatusRequest,
} from '../common/api/schemas.ts';
import { AUTH_HEADERS, signRequest, stringToSign } from '../common/auth/request-signing.ts';
import {
  authorizationStatement,
  messageSha256,
  policyChangeStatement,
  publicKeyHex,
  signStatement,
  type SignPolicy,
} from '../common/authz/client-keys.ts';
import { digestFor } from '../common/chains/digests.ts';
import { CustosApiError, CustosApprovalPending, CustosConnectionError } from './errors.ts';
import {
  ApprovalSchema,
  ListApprovalsResponseSchema,
  type ApprovalView,
  type ListApprovalsQuery,
} from '../common/api/schemas.ts';
import { PolicySchema, type Policy, type PolicyDocumentInput } from '../common/api/policy-document.ts';
import { DEFAULT_RETRY_POLICY, isRetryableStatus, nextDelayMs, parseRetryAfterMs } from './retry.ts';
import type { RetryPolicy } from './retry.ts';

/** What callers may send: the server fills in the defaults of the generate request. */
export type GenerateKeyInput = z.input<typeof GenerateKeyRequestSchema>;
export type ListKeysInput = Partial<Omit<ListKeysQuery, 'limit'>> & { limit?: number };
export type ReadyResponse = z.infer<typeof ReadyResponseSchema>;
export type HealthResponse = Record<string, unknown>;

export interface CustosClientOptions {
  baseUrl: string;
  accessKey: string;
  /** HMAC access key (trusts the gateway); exactly one of secretKey and privateKey. */
  secretKey?: string;
  /** Asymmetric access key: PKCS#8 PEM of Ed25519 or P-256. Sign requests carry a client authorisation the nodes check. */
  privateKey?: string;
  retry?: Partial<RetryPolicy>;
  /** Per attempt, covering the answer's body too. Keygen runs an MPC session, so be generous. */
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** Waits between attempts; tests inject one to observe the delays instead of sleeping. */
  sleep?: (ms: number) => Promise<void>;
  /** Source of the backoff jitter, uniform in [0, 1). */
  random?: () => number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const USER_AGENT = 'custos-sdk/0.1.0';
const HealthResponseSchema = z.record(z.string(), z.unknown());
/** 201 of POST /api/v1/access-keys: the secret for an HMAC key, the public key for an asymmetric one. */
const CreatedAccessKeySchema = AccessKeyInfoSchema.extend({
  secret_key: z.string().optional(),
  algorithm: z.string().optional(),
  public_key: z.string().optional(),
  /** Admin keys: created DISABLED; this approval enables them (the secret is still shown only here). */
  approval: ApprovalSchema.optional(),
});
export type CreateAccessKeyInput = z.input<typeof CreateAccessKeyRequestSchema>;
export type AuditQueryInput = Partial<Omit<AuditQuery, 'limit'>> & { limit?: number };

/** `/api/v1/audit?...` with the given filters, in a stable order. */
export function auditPath(query: AuditQueryInput = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query).sort(([a], [b]) => a.localeCompare(b))) {
    if (value !== undefined) params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `/api/v1/audit?${text}` : '/api/v1/audit';
}

const accessKeyPath = (id: string, suffix = '') => `/api/v1/access-keys/${encodeURIComponent(id)}${suffix}`;

interface Call {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path below the base URL, query string included, already percent-encoded. */
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** A sign request: with an asymmetric key, each attempt carries a fresh client authorisation. */
  authorize?: { keyId: string; dataType: string; message: Uint8Array };
}

interface Answer {
  status: number;
  statusText: string;
  headers: Headers;
  text: string;
}

/** 24 random bytes are 32 base64url characters, inside NONCE_PATTERN. */
export function freshNonce(): string {
  return randomBytes(24).toString('base64url');
}

/** Joins base URL and API path, keeping a base path prefix such as https://host/custos. */
export function resolveUrl(baseUrl: string, path: string): URL {
  return new URL(baseUrl.replace(/\/+$/, '') + path);
}

/** The query string of a listing, in a fixed order, omitting what is unset. */
export function listKeysPath(query: ListKeysInput = {}): string {
  const params = new URLSearchParams();
  if (query.limit !== undefined) params.set('limit', String(query.limit));
  if (query.cursor !== undefined) params.set('cursor', query.cursor);
  if (query.label !== undefined) params.set('label', query.label);
  if (query.status !== undefined) params.set('status', query.status);
  const qs = params.toString();
  return qs ? `/api/v1/keys?${qs}` : '/api/v1/keys';
}

function keyPath(keyId: string, suffix = ''): string {
  return `/api/v1/keys/${encodeURIComponent(keyId)}${suffix}`;
}

/**
 * Signed request headers (README "HTTP API") for exactly this URL and these body bytes: HMAC with a
 * secret key, or an Ed25519 / P-256 signature of the same string with a private key.
 */
export function authHeaders(opts: {
  accessKey: string;
  secretKey?: string;
  privateKey?: KeyObject;
  method: string;
  url: URL;
  body: Uint8Array | undefined;
  timestampMs: number;
  nonce: string;
}): Record<string, string> {
  const signed = {
    method: opts.method,
    pathWithQuery: opts.url.pathname + opts.url.search,
    timestampMs: opts.timestampMs,
    nonce: opts.nonce,
    body: opts.body,
  };
  let signature: string;
  if (opts.privateKey) signature = signStatement(opts.privateKey, Buffer.from(stringToSign(signed)));
  else if (opts.secretKey) signature = signRequest(opts.secretKey, signed);
  else throw new Error('a secret key or a private key is required');
  return {
    [AUTH_HEADERS.accessKey]: opts.accessKey,
    [AUTH_HEADERS.timestamp]: String(opts.timestampMs),
    [AUTH_HEADERS.nonce]: opts.nonce,
    [AUTH_HEADERS.signature]: signature,
  };
}

/** Turns a non-2xx answer into the error callers see, whatever the body looks like. */
export function apiErrorFrom(answer: Answer, nowMs: number): CustosApiError {
  const retryAfterMs = parseRetryAfterMs(answer.headers.get('retry-after'), nowMs);
  const parsed = ErrorResponseSchema.safeParse(safeJson(answer.text));
  if (parsed.success) {
    const { code, message, request_id } = parsed.data.error;
    return new CustosApiError({ status: answer.status, code, message, requestId: request_id, retryAfterMs });
  }
  const excerpt = answer.text.trim().slice(0, 200);
  return new CustosApiError({
    status: answer.status,
    code: 'UNEXPECTED_RESPONSE',
    message: `HTTP ${answer.status} ${answer.statusText}${excerpt ? `: ${excerpt}` : ''}`,
    requestId: answer.headers.get('x-request-id') ?? undefined,
    retryAfterMs,
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function parseBody<T>(answer: Answer, schema: z.ZodType<T>): T {
  const parsed = schema.safeParse(safeJson(answer.text));
  if (parsed.success) return parsed.data;
  throw new CustosApiError({
    status: answer.status,
    code: 'UNEXPECTED_RESPONSE',
    message: `response does not match the API schema: ${z.prettifyError(parsed.error).replaceAll('\n', '; ')}`,
    requestId: answer.headers.get('x-request-id') ?? undefined,
  });
}

/**
 * Client of the Custos gateway HTTP API. Signs every attempt afresh (new nonce and timestamp),
 * retries 429, 503 and connection failures with exponential backoff and full jitter, honours
 * Retry-After, and validates every answer against the shared zod schemas.
 */
export class CustosClient {
  readonly baseUrl: string;
  readonly #accessKey: string;
  readonly #secretKey: string | undefined;
  readonly #privateKey: KeyObject | undefined;
  readonly #policy: RetryPolicy;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;

  constructor(opts: CustosClientOptions) {
    this.baseUrl = opts.baseUrl;
    this.#accessKey = opts.accessKey;
    if ((opts.secretKey === undefined) === (opts.privateKey === undefined)) {
      throw new Error('CustosClient needs exactly one of secretKey (HMAC) and privateKey (Ed25519, P-256)');
    }
    this.#secretKey = opts.secretKey;
    this.#privateKey = opts.privateKey === undefined ? undefined : createPrivateKey(opts.privateKey);
    this.#policy = { ...DEFAULT_RETRY_POLICY, ...opts.retry };
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#fetch = opts.fetch ?? globalThis.fetch;
    this.#sleep = opts.sleep ?? ((ms) => delay(ms));
    this.#random = opts.random ?? Math.random;
  }

  /**
   * Creates a key. An idempotency key is always sent (a random UUID unless given), and the same
   * one on every retry, so a retried request can never create a second key.
   */
  async generateKey(req: GenerateKeyInput, opts: { idempotencyKey?: string } = {}): Promise<Key> {
    const headers = { [IDEMPOTENCY_HEADER]: opts.idempotencyKey ?? randomUUID() };
    const answer = await this.#send({ method: 'POST', path: '/api/v1/keys/generate', body: req, headers });
    return this.#expect(answer, [200, 201], KeySchema);
  }

  /** `bitcoinNetwork: 'testnet'` answers testnet Bitcoin addresses for SECP256K1 keys. */
  async getKey(keyId: string, opts: { bitcoinNetwork?: 'mainnet' | 'testnet' } = {}): Promise<Key> {
    const query = opts.bitcoinNetwork ? `?bitcoin_network=${opts.bitcoinNetwork}` : '';
    return this.#expect(await this.#send({ method: 'GET', path: keyPath(keyId) + query }), [200], KeySchema);
  }

  async listKeys(query: ListKeysInput = {}): Promise<ListKeysResponse> {
    const answer = await this.#send({ method: 'GET', path: listKeysPath(query) });
    return this.#expect(answer, [200], ListKeysResponseSchema);
  }

  /** Every key matching the query, page after page, following next_cursor. */
  async *iterateKeys(query: Omit<ListKeysInput, 'cursor'> = {}): AsyncGenerator<Key, void, undefined> {
    let cursor: string | undefined;
    do {
      const page = await this.listKeys({ ...query, ...(cursor === undefined ? {} : { cursor }) });
      yield* page.keys;
      cursor = page.next_cursor ?? undefined;
    } while (cursor !== undefined);
  }

  /** Signing has no side effect beyond the audit log, so a retried attempt is harmless. */
  async sign(keyId: string, req: SignRequest): Promise<SignResponse> {
    // With a private key the client computes the very bytes the key signs and authorises exactly those.
    const authorize = this.#privateKey
      ? { keyId, dataType: req.data_type, message: digestFor(req.data_type, req.data, req.encoding) }
      : undefined;
    const answer = await this.#send({ method: 'POST', path: keyPath(keyId, '/sign'), body: req, authorize });
    this.#throwIfPending(answer);
    return this.#expect(answer, [200], SignResponseSchema);
  }

  /** Submits a sign-policy change; every holder node checks the approvals against the current policy. */
  async changeSignPolicy(
    keyId: string,
    policy: SignPolicy,
    approvals: { access_key: string; signature: string }[],
  ): Promise<Key> {
    const answer = await this.#send({
      method: 'PUT',
      path: keyPath(keyId, '/sign-policy'),
      body: { policy, approvals },
    });
    return this.#expect(answer, [200], KeySchema);
  }

  /** This client's approval of a policy change (asymmetric keys only); collect a quorum of them. */
  approvePolicyChange(keyId: string, policy: SignPolicy): { access_key: string; signature: string } {
    if (!this.#privateKey) throw new Error('only an asymmetric access key can approve a sign-policy change');
    return {
      access_key: this.#accessKey,
      signature: signStatement(this.#privateKey, policyChangeStatement(keyId, policy)),
    };
  }

  /** The key's failed sessions per signer set, by who they were pinned on. */
  async abortSummary(keyId: string): Promise<Record<string, unknown>> {
    const answer = await this.#send({ method: 'GET', path: keyPath(keyId, '/aborts') });
    return this.#expect(answer, [200], z.record(z.string(), z.unknown()));
  }

  /** Clears the holders' counts of unattributed aborts, re-opening a key they refused (audited). */
  async clearAborts(keyId: string): Promise<Record<string, unknown>> {
    const answer = await this.#send({ method: 'DELETE', path: keyPath(keyId, '/aborts') });
    return this.#expect(answer, [200], z.record(z.string(), z.unknown()));
  }

  /** Registers the public half of a new asymmetric access key. */
  /**
   * Creates an access key (admin). Without `public_key` the gateway makes an HMAC secret and
   * answers it this once (`secret_key`); with `access_key`, `algorithm` and `public_key` it
   * registers the public half of a key pair the caller keeps. Not retried: a lost answer would
   * leave a key whose secret nobody saw, so the caller decides.
   */
  async createAccessKey(req: CreateAccessKeyInput): Promise<z.infer<typeof CreatedAccessKeySchema>> {
    const answer = await this.#send({ method: 'POST', path: '/api/v1/access-keys', body: req }, { retry: false });
    // 202 (an admin key waiting for approval) still carries the secret: never throw it away.
    return this.#expect(answer, [201, 202], CreatedAccessKeySchema);
  }

  async listAccessKeys(): Promise<AccessKeyInfo[]> {
    const answer = await this.#send({ method: 'GET', path: '/api/v1/access-keys' });
    return this.#expect(answer, [200], ListAccessKeysResponseSchema).access_keys;
  }

  /** A new secret (shown once); the old one keeps verifying for `graceSeconds` (server default one hour). */
  async rotateAccessKey(id: string, graceSeconds?: number): Promise<z.infer<typeof AccessKeySecretResponseSchema>> {
    const body = graceSeconds === undefined ? {} : { grace_seconds: graceSeconds };
    const answer = await this.#send({ method: 'POST', path: accessKeyPath(id, '/rotate'), body }, { retry: false });
    return this.#expect(answer, [200], AccessKeySecretResponseSchema);
  }

  async setAccessKeyStatus(id: string, status: 'ENABLED' | 'DISABLED'): Promise<AccessKeyInfo> {
    const answer = await this.#send({ method: 'PUT', path: accessKeyPath(id, '/status'), body: { status } });
    return this.#expect(answer, [200], AccessKeyInfoSchema);
  }

  /** One page of the audit log (auditor or admin), oldest first. */
  async queryAudit(query: AuditQueryInput = {}): Promise<AuditPage> {
    return this.#expect(await this.#send({ method: 'GET', path: auditPath(query) }), [200], AuditPageSchema);
  }

  /** Every audit entry matching the filters, page by page. */
  async *iterateAudit(query: Omit<AuditQueryInput, 'cursor'> = {}): AsyncGenerator<AuditItem, void, undefined> {
    let cursor: string | undefined;
    do {
      const page = await this.queryAudit({ ...query, ...(cursor === undefined ? {} : { cursor }) });
      yield* page.items;
      cursor = page.next_cursor ?? undefined;
    } while (cursor !== undefined);
  }

  /** The gateway's verdict on its audit log: chain, checkpoints, and the live head against the latest one. */
  async verifyAudit(): Promise<AuditVerifyResponse> {
    const answer = await this.#send({ method: 'GET', path: '/api/v1/audit/verify' });
    return this.#expect(answer, [200], AuditVerifyResponseSchema);
  }

  /** The public key of this client's asymmetric access key, as policies name it. */
  publicKey(): string | undefined {
    return this.#privateKey ? publicKeyHex(createPublicKey(this.#privateKey)) : undefined;
  }

  /** Starts a proactive share refresh (same public key, new shares); answers the PENDING operation. */
  async refreshKey(keyId: string): Promise<Operation> {
    const answer = await this.#send({ method: 'POST', path: keyPath(keyId, '/refresh') });
    return this.#expect(answer, [202], OperationSchema);
  }

  /** A long-running operation's status: PENDING, RUNNING, SUCCEEDED or FAILED with the reason. */
  async getOperation(operationId: string): Promise<Operation> {
    const answer = await this.#send({ method: 'GET', path: `/api/v1/operations/${encodeURIComponent(operationId)}` });
    return this.#expect(answer, [200], OperationSchema);
  }

  async updateStatus(keyId: string, req: UpdateStatusRequest): Promise<Key> {
    const answer = await this.#send({ method: 'PUT', path: keyPath(keyId, '/status'), body: req });
    this.#throwIfPending(answer);
    return this.#expect(answer, [200], KeySchema);
  }

  // ---- Governance (docs/policies-and-approvals.md): a 202 throws CustosApprovalPending ----

  /** Files the key's destruction for approval; returns the approval (always pending at first). */
  async destroyKey(keyId: string, reason?: string): Promise<ApprovalView> {
    const query = reason === undefined ? '' : `?reason=${encodeURIComponent(reason)}`;
    const answer = await this.#send({ method: 'DELETE', path: keyPath(keyId) + query }, { retry: false });
    return this.#expect(answer, [202], ApprovalSchema);
  }

  async getApproval(approvalId: string): Promise<ApprovalView> {
    const answer = await this.#send({ method: 'GET', path: `/api/v1/approvals/${encodeURIComponent(approvalId)}` });
    return this.#expect(answer, [200], ApprovalSchema);
  }

  async listApprovals(query: Partial<ListApprovalsQuery> = {}) {
    const params = new URLSearchParams(
      Object.entries(query).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)] as [string, string]])),
    ).toString();
    const answer = await this.#send({ method: 'GET', path: `/api/v1/approvals${params ? `?${params}` : ''}` });
    return this.#expect(answer, [200], ListApprovalsResponseSchema);
  }

  /** Approves (never your own request); the last approval needed runs the operation and answers its outcome. */
  async approve(approvalId: string, reason?: string): Promise<ApprovalView> {
    const path = `/api/v1/approvals/${encodeURIComponent(approvalId)}/approve`;
    const answer = await this.#send({ method: 'POST', path, body: reason ? { reason } : {} }, { retry: false });
    return this.#expect(answer, [200], ApprovalSchema);
  }

  async reject(approvalId: string, reason: string): Promise<ApprovalView> {
    const path = `/api/v1/approvals/${encodeURIComponent(approvalId)}/reject`;
    const answer = await this.#send({ method: 'POST', path, body: { reason } }, { retry: false });
    return this.#expect(answer, [200], ApprovalSchema);
  }

  async listPolicies(): Promise<Policy[]> {
    const answer = await this.#send({ method: 'GET', path: '/api/v1/policies' });
    return this.#expect(answer, [200], z.object({ policies: z.array(PolicySchema) })).policies;
  }

  async createPolicy(doc: PolicyDocumentInput): Promise<Policy> {
    const answer = await this.#send({ method: 'POST', path: '/api/v1/policies', body: doc }, { retry: false });
    this.#throwIfPending(answer);
    return this.#expect(answer, [201], PolicySchema);
  }

  async updatePolicy(policyId: string, doc: PolicyDocumentInput): Promise<Policy> {
    const path = `/api/v1/policies/${encodeURIComponent(policyId)}`;
    const answer = await this.#send({ method: 'PUT', path, body: doc }, { retry: false });
    this.#throwIfPending(answer);
    return this.#expect(answer, [200], PolicySchema);
  }

  async deletePolicy(policyId: string): Promise<void> {
    const path = `/api/v1/policies/${encodeURIComponent(policyId)}`;
    const answer = await this.#send({ method: 'DELETE', path }, { retry: false });
    this.#throwIfPending(answer);
    if (answer.status !== 204) throw apiErrorFrom(answer, Date.now());
  }

  #throwIfPending(answer: Answer): void {
    if (answer.status === 202) throw new CustosApprovalPending(parseBody(answer, ApprovalSchema));
  }

  /** Writes a backup set now (admin); answers when it is in every location. */
  async createBackup(): Promise<z.infer<typeof BackupCreatedSchema>> {
    const answer = await this.#send({ method: 'POST', path: '/api/v1/backups', body: {} }, { retry: false });
    return this.#expect(answer, [201], BackupCreatedSchema);
  }

  async listBackups(): Promise<z.infer<typeof BackupListSchema>> {
    return this.#expect(await this.#send({ method: 'GET', path: '/api/v1/backups' }), [200], BackupListSchema);
  }

  /** Records in the gateway's audit log what a verify or restore run here did with a set. */
  async reportBackup(setId: string, report: z.input<typeof BackupReportSchema>): Promise<{ audit_seq: number }> {
    const path = `/api/v1/backups/${encodeURIComponent(setId)}/${report.operation === 'VERIFY' ? 'verifications' : 'restores'}`;
    const answer = await this.#send({ method: 'POST', path, body: report }, { retry: false });
    return this.#expect(answer, [201], z.object({ audit_seq: z.number().int() }));
  }

  /** Readiness as the gateway reports it; 503 with the same body means "not ready" and is returned, not retried. */
  async ready(): Promise<ReadyResponse> {
    const answer = await this.#send({ method: 'GET', path: '/ready' }, { retry: false });
    return this.#expect(answer, [200, 503], ReadyResponseSchema);
  }

  async health(): Promise<HealthResponse> {
    return this.#expect(await this.#send({ method: 'GET', path: '/health' }), [200], HealthResponseSchema);
  }

  #expect<T>(answer: Answer, okStatuses: number[], schema: z.ZodType<T>): T {
    if (!okStatuses.includes(answer.status)) throw apiErrorFrom(answer, Date.now());
    if (answer.status >= 400) {
      // An accepted error status (503 on /ready) still has to carry the documented body.
      const parsed = schema.safeParse(safeJson(answer.text));
      if (!parsed.success) throw apiErrorFrom(answer, Date.now());
      return parsed.data;
    }
    return parseBody(answer, schema);
  }

  /** Sends the call, retrying transient failures; returns the last answer received. */
  async #send(call: Call, opts: { retry: boolean } = { retry: true }): Promise<Answer> {
    const url = resolveUrl(this.baseUrl, call.path);
    const body = call.body === undefined ? undefined : new TextEncoder().encode(JSON.stringify(call.body));
    for (let attempt = 1; ; attempt++) {
      let answer: Answer;
      try {
        answer = await this.#attempt(call, url, body);
      } catch (err) {
        const wait = opts.retry ? this.#delayAfter(attempt, undefined) : undefined;
        if (wait === undefined) throw new CustosConnectionError({ url: url.href, attempts: attempt, cause: err });
        await this.#sleep(wait);
        continue;
      }
      if (!opts.retry || !isRetryableStatus(answer.status)) return answer;
      const wait = this.#delayAfter(attempt, parseRetryAfterMs(answer.headers.get('retry-after'), Date.now()));
      if (wait === undefined) return answer;
      await this.#sleep(wait);
    }
  }

  #delayAfter(attempt: number, retryAfterMs: number | undefined): number | undefined {
    return nextDelayMs({ attempt, policy: this.#policy, retryAfterMs, random: this.#random });
  }

  /** One signed attempt; throws on anything short of a complete HTTP answer. */
  async #attempt(call: Call, url: URL, body: Uint8Array | undefined): Promise<Answer> {
    const timestampMs = Date.now();
    const nonce = freshNonce();
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': USER_AGENT,
      ...call.headers,
      ...authHeaders({
        accessKey: this.#accessKey,
        secretKey: this.#secretKey,
        privateKey: this.#privateKey,
        method: call.method,
        url,
        body,
        timestampMs,
        nonce,
      }),
    };
    if (call.authorize && this.#privateKey) {
      headers[SIGN_AUTHORIZATION_HEADER] = signStatement(
        this.#privateKey,
        authorizationStatement({
          access_key: this.#accessKey,
          key_id: call.authorize.keyId,
          data_type: call.authorize.dataType,
          message_sha256: messageSha256(call.authorize.message),
          timestamp_ms: timestampMs,
          nonce,
        }),
      );
    }
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await this.#fetch(url, {
      method: call.method,
      headers,
      body,
      // A redirect would change the signed path; surface it instead of following it.
      redirect: 'manual',
      signal: AbortSignal.timeout(this.#timeoutMs),
    });
    return { status: res.status, statusText: res.statusText, headers: res.headers, text: await res.text() };
  }
}
