/**
 * The key service: generate (idempotent), get, list, status changes and sign. Validates against
 * the cluster's capabilities, picks nodes, drives the coordinator, stores metadata only after the
 * MPC session succeeded, and audits what it did.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { randomBytes } from 'node:crypto';
import {
  CURVE_OF_ALGORITHM,
  DATA_TYPES_OF_CURVE,
  type Algorithm,
  type Curve,
  type GenerateKeyRequest,
  type Key,
  type KeyStatus,
  type ListKeysQuery,
  type ListKeysResponse,
  type SignPolicyChangeRequest,
  SignRequestSchema,
  type SignRequest,
  type SignResponse,
} from '../../common/api/schemas.ts';
import {
  messageSha256,
  SignPolicySchema,
  type SignAuthorization,
  type SignPolicy,
} from '../../common/authz/client-keys.ts';
import type { AbortRecords, AbortSummary } from '../aborts/abort-records.ts';
import { ApprovalExecutionError, type Approval, type ApprovalService } from '../approvals/service.ts';
import type { ApprovalRequirement, Decision, Eip712Facts, GovernedRequest } from '../policies/evaluate.ts';
import { decisionTrail, type PolicyService } from '../policies/service.ts';
import type { ClientPublicKeyStore } from '../auth/client-public-keys.ts';
import { addressesFor } from '../../common/chains/addresses.ts';
import { digestFor, InvalidSignDataError } from '../../common/chains/digests.ts';
import { toRsv } from '../../common/chains/signature.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { canonicalJson } from '../audit/chain.ts';
import { MpcSessionError, type MpcCoordinator } from '../coordinator/types.ts';
import { nowIso, type Db } from '../db/index.ts';
import type { KeyRow } from '../db/schema.ts';
import { ApiError } from '../http/errors.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { selectKeygenNodes, selectSigners } from './node-selection.ts';
import { policySummary, type SignPolicyStore } from './sign-policies.ts';

/** Who asked, for the audit log. */
export interface RequestContext {
  requestId: string;
  userId?: string;
  trail: Record<string, unknown>;
  /** The client's sign authorisation (asymmetric access keys), with the request's own timestamp and nonce. */
  clientAuthorization?: { signature: string; timestampMs: number; nonce: string };
}

export interface KeyServiceOptions {
  db: Db;
  coordinator: MpcCoordinator;
  audit: AuditLog;
  metrics: GatewayMetrics;
  /** Algorithms the cluster serves. */
  algorithms: readonly Algorithm[];
  /** Nodes in the cluster: the largest possible shard_count. */
  nodeCount: number;
  mpcTimeoutMs: number;
  publicKeys: ClientPublicKeyStore;
  signPolicies: SignPolicyStore;
  aborts: AbortRecords;
  /** Risk-control policies (deny, require approval, allow) decided before any MPC session. */
  policies: PolicyService;
  approvals: ApprovalService;
  /** What every key destruction needs at least, whatever the policies say. */
  destructionApproval: ApprovalRequirement;
}

/** An operation done now, or waiting for approval (answered 202 with the approval). */
export type Governed<T> = { done: T } | { approval: Approval };

export interface KeyService {
  generate(
    req: GenerateKeyRequest,
    ctx: RequestContext & { idempotencyKey?: string },
  ): Promise<{ key: Key; created: boolean }>;
  get(keyId: string): Promise<Key>;
  list(query: ListKeysQuery): Promise<ListKeysResponse>;
  setStatus(
    keyId: string,
    status: Exclude<KeyStatus, 'DESTROYED'>,
    reason: string | undefined,
    ctx: RequestContext,
  ): Promise<Governed<Key>>;
  sign(keyId: string, req: SignRequest, ctx: RequestContext): Promise<Governed<SignResponse>>;
  /** Files the key's destruction for approval (always); once approved every holder erases its share. */
  destroy(keyId: string, reason: string | undefined, ctx: RequestContext): Promise<Approval>;
  changeSignPolicy(keyId: string, req: SignPolicyChangeRequest, ctx: RequestContext): Promise<Key>;
  abortSummary(keyId: string): Promise<{ key_id: string; signer_sets: AbortSummary[] }>;
  /** Clears every holder's count of unattributed aborts for the key (an operator's decision). */
  clearAbortCounts(keyId: string, ctx: RequestContext): Promise<{ key_id: string; cleared: Record<string, number> }>;
}

export function newKeyId(): string {
  return `key_${randomBytes(16).toString('hex')}`;
}

export function keyFromRow(row: KeyRow): Key {
  return {
    key_id: row.key_id,
    label: row.label,
    status: row.status as KeyStatus,
    format: { type: 'ECC', curve: row.curve as Curve, algo_type: row.algo as Algorithm, size: 32 },
    shard_properties: { shard_count: Number(row.shard_count), threshold: Number(row.threshold) },
    public_key: row.public_key,
    address: row.address,
    addresses: JSON.parse(row.addresses) as Record<string, string>,
    shard_nodes: JSON.parse(row.shard_nodes) as string[],
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/** Opaque cursor: the (created_at, key_id) of the last key on the previous page. */
export function encodeCursor(row: { created_at: string; key_id: string }): string {
  return Buffer.from(`${row.created_at}|${row.key_id}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): { created_at: string; key_id: string } {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\|(key_[0-9a-f]{32})$/.exec(text);
  if (!m) throw new ApiError(400, 'VALIDATION_FAILED', 'cursor: not a cursor returned by this API');
  return { created_at: m[1]!, key_id: m[2]! };
}

/** Checks a generate request against the algorithm table and the cluster; throws 422. */
export function checkGenerateRequest(
  req: GenerateKeyRequest,
  algorithms: readonly Algorithm[],
  nodeCount: number,
): void {
  const { algo_type: algo, curve } = req.format;
  if (CURVE_OF_ALGORITHM[algo] !== curve) {
    throw new ApiError(
      422,
      'UNSUPPORTED_ALGORITHM',
      `algo_type ${algo} runs on ${CURVE_OF_ALGORITHM[algo]}, not ${curve}`,
    );
  }
  if (!algorithms.includes(algo)) {
    throw new ApiError(
      422,
      'UNSUPPORTED_ALGORITHM',
      `algo_type ${algo} is not served by this cluster (available: ${algorithms.join(', ')})`,
    );
  }
  const { shard_count, threshold } = req.shard_properties;
  if (threshold > shard_count) {
    throw new ApiError(422, 'INVALID_SHARD_PROPERTIES', `threshold ${threshold} exceeds shard_count ${shard_count}`);
  }
  if (shard_count > nodeCount) {
    throw new ApiError(
      422,
      'INVALID_SHARD_PROPERTIES',
      `shard_count ${shard_count} exceeds the cluster's ${nodeCount} nodes`,
    );
  }
}

/** Maps a coordinator failure to the API: 503 when the cluster cannot run the session, 502 when it broke. */
export function mpcFailure(err: unknown): ApiError {
  if (err instanceof MpcSessionError) {
    if (err.kind === 'locked') {
      return new ApiError(409, 'ABORT_LIMIT_REACHED', `${err.message}; clear with DELETE /api/v1/keys/{key_id}/aborts`);
    }
    if (err.kind === 'unauthorized') {
      return new ApiError(403, 'CLIENT_AUTHORIZATION_REFUSED', `the holder nodes refused: ${err.message}`);
    }
    if (err.kind === 'unavailable' || err.kind === 'timeout') {
      return new ApiError(503, 'CLUSTER_UNAVAILABLE', `MPC cluster unavailable: ${err.message}`, {
        'retry-after': '1',
      });
    }
    const culprit = err.culprit ? ` (culprit node: ${err.culprit})` : '';
    return new ApiError(502, 'MPC_SESSION_FAILED', `MPC session failed${culprit}: ${err.message}`);
  }
  return new ApiError(502, 'MPC_SESSION_FAILED', 'MPC session failed');
}

/** Splits a 65-byte r‖s‖(recovery id or v) from the coordinator into the API's low-s RSV form. */
export function ecdsaResponse(sig: Uint8Array): {
  signature: string;
  r: string;
  s: string;
  v: number;
  recovery_id: number;
} {
  if (sig.length !== 65) throw new MpcSessionError(`ECDSA signature of ${sig.length} bytes, expected 65`);
  const last = sig[64]!;
  const rsv = toRsv(
    BigInt(`0x${bytesToHex(sig.subarray(0, 32))}`),
    BigInt(`0x${bytesToHex(sig.subarray(32, 64))}`),
    last >= 27 ? last - 27 : last,
  );
  return { signature: rsv.signature, r: rsv.r, s: rsv.s, v: rsv.v, recovery_id: rsv.recoveryId };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new MpcSessionError(`no result within ${ms} ms`, undefined, 'timeout')), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** What an Idempotency-Key is bound to: the canonical form of the request after defaults. */
export const requestHash = (req: GenerateKeyRequest) =>
  bytesToHex(sha256(new TextEncoder().encode(canonicalJson(req))));

export function createKeyService(opts: KeyServiceOptions): KeyService {
  const { db, coordinator, audit, metrics } = opts;
  const inflight = new Map<string, { hash: string; done: Promise<Key> }>();

  async function rowOf(keyId: string): Promise<KeyRow> {
    const row = await db.selectFrom('keys').selectAll().where('key_id', '=', keyId).executeTakeFirst();
    if (!row) throw new ApiError(404, 'NOT_FOUND', `key ${keyId} not found`);
    return row;
  }

  async function byIdempotencyKey(idem: string, hash: string): Promise<Key | undefined> {
    const row = await db.selectFrom('keys').selectAll().where('idempotency_key', '=', idem).executeTakeFirst();
    if (!row) return undefined;
    if (row.request_hash !== hash) {
      throw new ApiError(409, 'CONFLICT', 'Idempotency-Key was already used with a different request body');
    }
    return keyFromRow(row);
  }

  /** Runs an MPC session, timing it and turning failures into audited API errors. */
  async function session<T>(
    operation: 'KEY_GENERATE' | 'KEY_SIGN',
    algo: Algorithm,
    nodes: readonly string[],
    ctx: RequestContext & { keyId: string; dataHash?: string },
    run: () => Promise<T>,
  ): Promise<T> {
    const started = performance.now();
    try {
      const out = await withTimeout(run(), opts.mpcTimeoutMs);
      metrics.mpcSessionDuration.observe({ operation, algo, result: 'success' }, (performance.now() - started) / 1000);
      return out;
    } catch (err) {
      const durationMs = performance.now() - started;
      metrics.mpcSessionDuration.observe({ operation, algo, result: 'failure' }, durationMs / 1000);
      const apiErr = mpcFailure(err);
      const refusal = err instanceof MpcSessionError && (err.kind === 'unauthorized' || err.kind === 'locked');
      const abort = refusal ? undefined : await opts.aborts.record({ keyId: ctx.keyId, operation, algo, nodes, err });
      await audit.record({
        operation,
        result: 'FAILURE',
        requestId: ctx.requestId,
        userId: ctx.userId,
        keyId: ctx.keyId,
        errorCode: apiErr.code,
        nodeId: abort?.node ?? (err instanceof MpcSessionError && err.culprit ? err.culprit : nodes.join(',')),
        durationMs,
        dataHash: ctx.dataHash,
        trail: {
          ...ctx.trail,
          reason: err instanceof Error ? err.message : String(err),
          nodes,
          ...(abort
            ? {
                abort: {
                  outcome: abort.outcome,
                  node: abort.node ?? null,
                  signers: abort.signers,
                  session_id: abort.sessionId,
                },
              }
            : {}),
        },
      });
      throw new ApiError(apiErr.status, apiErr.code, apiErr.message, apiErr.headers, true);
    }
  }

  /** The signers a new key accepts: as requested, else the requester when it is an asymmetric key, else none. */
  async function resolvePolicy(
    req: GenerateKeyRequest,
    requester: string | undefined,
  ): Promise<SignPolicy | undefined> {
    const requesterKey = requester ? await opts.publicKeys.get(requester) : undefined;
    const wanted = req.sign_policy?.signers ?? (requesterKey ? [requesterKey.access_key] : []);
    if (wanted.length === 0) return undefined;
    const signers = [];
    for (const accessKey of new Set(wanted)) {
      const key = await opts.publicKeys.get(accessKey);
      if (!key)
        throw new ApiError(422, 'VALIDATION_FAILED', `sign_policy: ${accessKey} is not an asymmetric access key`);
      signers.push(key);
    }
    const parsed = SignPolicySchema.safeParse({
      version: 1,
      signers,
      change_quorum: req.sign_policy?.change_quorum ?? 1,
    });
    if (!parsed.success)
      throw new ApiError(422, 'VALIDATION_FAILED', `sign_policy: ${parsed.error.issues[0]!.message}`);
    return parsed.data;
  }

  async function withPolicy(key: Key): Promise<Key> {
    const policy = await opts.signPolicies.get(key.key_id);
    return policy ? { ...key, sign_policy: policySummary(policy) } : key;
  }

  async function generateNew(
    req: GenerateKeyRequest,
    ctx: RequestContext & { idempotencyKey?: string },
    hash: string,
  ): Promise<Key> {
    const { algo_type: algo, curve } = req.format;
    const { shard_count, threshold } = req.shard_properties;
    const holders = selectKeygenNodes(await coordinator.health(), shard_count, await opts.aborts.disruptors());
    if (!holders) {
      throw new ApiError(503, 'CLUSTER_UNAVAILABLE', `fewer than ${shard_count} nodes are reachable and unsealed`, {
        'retry-after': '5',
      });
    }
    const signPolicy = await resolvePolicy(req, ctx.userId);
    const keyId = newKeyId();
    const started = performance.now();
    // Deriving addresses inside the session makes a malformed public key a failed session.
    const { result, address, addresses } = await session('KEY_GENERATE', algo, holders, { ...ctx, keyId }, async () => {
      const out = await coordinator.keygen({ keyId, algo, holders, threshold, signPolicy });
      return { result: out, ...addressesFor(curve, out.publicKey) };
    });
    const now = nowIso();
    const row: KeyRow = {
      key_id: keyId,
      label: req.label ?? null,
      status: 'ACTIVE',
      algo,
      curve,
      shard_count,
      threshold,
      public_key: `0x${bytesToHex(result.publicKey)}`,
      // A Buffer, which every driver binds as bytes (mysql2 does not treat a bare Uint8Array so).
      public_info: Buffer.from(result.publicInfo),
      address,
      addresses: JSON.stringify(addresses),
      shard_nodes: JSON.stringify(holders),
      idempotency_key: ctx.idempotencyKey ?? null,
      request_hash: ctx.idempotencyKey ? hash : null,
      share_version: 1,
      created_at: now,
      updated_at: now,
    };
    await db.insertInto('keys').values(row).execute();
    if (signPolicy) await opts.signPolicies.put(keyId, signPolicy);
    await audit.record({
      operation: 'KEY_GENERATE',
      result: 'SUCCESS',
      requestId: ctx.requestId,
      userId: ctx.userId,
      keyId,
      nodeId: holders.join(','),
      durationMs: performance.now() - started,
      dataHash: bytesToHex(sha256(result.publicKey)),
      trail: {
        ...ctx.trail,
        algo,
        public_key: row.public_key,
        address,
        ...(signPolicy ? { sign_policy: policySummary(signPolicy) } : {}),
      },
    });
    return withPolicy(keyFromRow(row));
  }

  /**
   * The client's authorisation as the holders will check it. The gateway only assembles it from
   * the request; it cannot make one up, and it insists on one only to fail early.
   */
  async function clientAuthorizationFor(
    keyId: string,
    req: SignRequest,
    message: Uint8Array,
    ctx: RequestContext,
  ): Promise<SignAuthorization | undefined> {
    const policy = await opts.signPolicies.get(keyId);
    const given = ctx.clientAuthorization;
    if (!given || !ctx.userId) {
      if (policy && policy.signers.length > 0) {
        throw new ApiError(
          403,
          'CLIENT_AUTHORIZATION_REQUIRED',
          `key ${keyId} signs only with a client authorisation (X-KMS-Sign-Authorization) from ${policySummary(policy).signers.join(', ')}`,
        );
      }
      return undefined;
    }
    return {
      access_key: ctx.userId,
      key_id: keyId,
      data_type: req.data_type,
      message_sha256: messageSha256(message),
      timestamp_ms: given.timestampMs,
      nonce: given.nonce,
      signature: given.signature,
    };
  }

  /** Runs an operation on a key's holders; a failure is audited with its reason and answered as an API error. */
  async function onHolders<T>(
    operation: 'ABORT_COUNT_CLEAR' | 'KEY_POLICY_CHANGE',
    keyId: string,
    holders: readonly string[],
    ctx: RequestContext,
    trail: Record<string, unknown>,
    run: () => Promise<T>,
    started?: number,
  ): Promise<T> {
    try {
      return await run();
    } catch (err) {
      const apiErr = mpcFailure(err);
      await audit.record({
        operation,
        result: 'FAILURE',
        requestId: ctx.requestId,
        userId: ctx.userId,
        keyId,
        errorCode: apiErr.code,
        nodeId: holders.join(','),
        ...(started === undefined ? {} : { durationMs: performance.now() - started }),
        trail: { ...ctx.trail, reason: err instanceof Error ? err.message : String(err), ...trail },
      });
      throw new ApiError(apiErr.status, apiErr.code, apiErr.message, apiErr.headers, true);
    }
  }

  /** The policy decision for an operation on a key; a deny is audited with its rules and answered 403. */
  async function governed(
    operation: 'KEY_SIGN' | 'KEY_STATUS_CHANGE' | 'KEY_DESTROY',
    row: KeyRow,
    ctx: RequestContext,
    extra: Record<string, unknown>,
    sign?: GovernedRequest['sign'],
  ): Promise<Decision> {
    const { decision } = await opts.policies.decide({
      operation,
      accessKey: ctx.userId,
      nowMs: Date.now(),
      key: { keyId: row.key_id, label: row.label, algorithm: row.algo },
      ...(sign ? { sign } : {}),
    });
    if (decision.action === 'deny') {
      await audit.record({
        operation,
        result: 'REJECTED',
        requestId: ctx.requestId,
        userId: ctx.userId,
        keyId: row.key_id,
        errorCode: 'POLICY_DENIED',
        trail: { ...ctx.trail, ...extra, ...decisionTrail(decision) },
      });
      const by = decision.rules.filter((r) => r.action === 'deny').map((r) => `${r.policy_name}/${r.rule_id}`);
      throw new ApiError(403, 'POLICY_DENIED', `denied by policy rule ${by.join(', ')}`, {}, true);
    }
    return decision;
  }

  async function applyStatus(
    keyId: string,
    status: Exclude<KeyStatus, 'DESTROYED'>,
    reason: string | undefined,
    ctx: RequestContext,
    extra: Record<string, unknown>,
  ): Promise<Key> {
    const before = await rowOf(keyId);
    if (before.status === 'DESTROYED')
      throw new ApiError(409, 'CONFLICT', `key ${keyId} is DESTROYED; destruction is final`);
    if (before.status === 'ARCHIVED' && status !== 'ARCHIVED') {
      throw new ApiError(409, 'CONFLICT', `key ${keyId} is ARCHIVED; archiving is final`);
    }
    const updatedAt = nowIso();
    // The status guard makes a concurrent archive or destruction win: such a key is never revived.
    const res = await db
      .updateTable('keys')
      .set({ status, updated_at: updatedAt })
      .where('key_id', '=', keyId)
      .where('status', '=', before.status)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) {
      throw new ApiError(409, 'CONFLICT', `key ${keyId} changed status concurrently; retry`);
    }
    await audit.record({
      operation: 'KEY_STATUS_CHANGE',
      result: 'SUCCESS',
      requestId: ctx.requestId,
      userId: ctx.userId,
      keyId,
      trail: { ...ctx.trail, from: before.status, to: status, ...(reason ? { reason } : {}), ...extra },
    });
    return keyFromRow({ ...before, status, updated_at: updatedAt });
  }

  interface PreparedSign {
    row: KeyRow;
    key: Key;
    message: Uint8Array;
  }

  /** Everything a sign checks before policies and MPC: status, algorithm, data type, data. */
  async function prepareSign(keyId: string, req: SignRequest): Promise<PreparedSign> {
    const row = await rowOf(keyId);
    const key = keyFromRow(row);
    if (key.status !== 'ACTIVE') {
      throw new ApiError(409, 'KEY_NOT_ACTIVE', `key ${keyId} is ${key.status} and does not sign`);
    }
    const algo = key.format.algo_type;
    if (!opts.algorithms.includes(algo)) {
      throw new ApiError(422, 'UNSUPPORTED_ALGORITHM', `algo_type ${algo} is not served by this cluster`);
    }
    const curve = key.format.curve;
    if (!DATA_TYPES_OF_CURVE[curve].includes(req.data_type)) {
      throw new ApiError(
        422,
        'INVALID_SIGN_DATA',
        `data_type ${req.data_type} does not apply to ${curve} keys (use ${DATA_TYPES_OF_CURVE[curve].join(', ')})`,
      );
    }
    try {
      return { row, key, message: digestFor(req.data_type, req.data, req.encoding) };
    } catch (err) {
      if (err instanceof InvalidSignDataError) throw new ApiError(422, 'INVALID_SIGN_DATA', err.message);
      throw err;
    }
  }

  /** The MPC session of a permitted sign, audited with the policy decision that let it through. */
  async function runSign(
    { row, key, message }: PreparedSign,
    req: SignRequest,
    authorization: SignAuthorization | undefined,
    ctx: RequestContext,
    extra: Record<string, unknown>,
  ): Promise<SignResponse> {
    const keyId = key.key_id;
    const algo = key.format.algo_type;
    const curve = key.format.curve;
    const signers = selectSigners(
      await coordinator.health(),
      key.shard_nodes,
      key.shard_properties.threshold,
      await opts.aborts.disruptors(),
    );
    if (!signers) {
      throw new ApiError(
        503,
        'CLUSTER_UNAVAILABLE',
        `fewer than ${key.shard_properties.threshold} of the key's shard holders are reachable and unsealed`,
        { 'retry-after': '5' },
      );
    }
    const dataHash = bytesToHex(sha256(message));
    const started = performance.now();
    const { signature, response } = await session(
      'KEY_SIGN',
      algo,
      signers,
      { ...ctx, trail: { ...ctx.trail, ...extra }, keyId, dataHash },
      async () => {
        const sig = await coordinator.sign({
          keyId,
          algo,
          holders: key.shard_nodes,
          signers,
          threshold: key.shard_properties.threshold,
          publicKey: hexToBytes(key.public_key.slice(2)),
          publicInfo: row.public_info,
          message,
          authorization,
          shareVersion: Number(row.share_version),
        });
        const out: SignResponse =
          curve === 'SECP256K1'
            ? { key_id: keyId, ...ecdsaResponse(sig), digest: `0x${bytesToHex(message)}`, signer_nodes: signers }
            : { key_id: keyId, signature: `0x${bytesToHex(sig)}`, signer_nodes: signers };
        return { signature: sig, response: out };
      },
    );
    await audit.record({
      operation: 'KEY_SIGN',
      result: 'SUCCESS',
      requestId: ctx.requestId,
      userId: ctx.userId,
      keyId,
      nodeId: signers.join(','),
      durationMs: performance.now() - started,
      dataHash,
      trail: {
        ...ctx.trail,
        ...extra,
        data_type: req.data_type,
        signature_sha256: bytesToHex(sha256(signature)),
      },
    });
    return response;
  }

  async function confirmationsOf(keyId: string) {
    return db.selectFrom('key_destructions').selectAll().where('key_id', '=', keyId).orderBy('node_id').execute();
  }

  /**
   * An approved destruction: the tombstone first (status DESTROYED, so nothing signs from here
   * on), then every holder erases its share and confirms. Confirmations are kept; a holder that
   * did not confirm is named, and a later DELETE files a new request to finish.
   */
  async function executeDestroy(keyId: string, ctx: RequestContext, extra: Record<string, unknown>) {
    const started = performance.now();
    let row = await rowOf(keyId);
    while (row.status !== 'DESTROYED') {
      const res = await db
        .updateTable('keys')
        .set({ status: 'DESTROYED', updated_at: nowIso() })
        .where('key_id', '=', keyId)
        .where('status', '=', row.status)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 1) break;
      row = await rowOf(keyId);
    }
    const holders = JSON.parse(row.shard_nodes) as string[];
    const answers = await coordinator.destroyShares(holders, keyId);
    const known = new Set((await confirmationsOf(keyId)).map((c) => c.node_id));
    for (const a of answers) {
      if (!a.confirmed || known.has(a.nodeId)) continue;
      await db
        .insertInto('key_destructions')
        .values({
          key_id: keyId,
          node_id: a.nodeId,
          had_share: a.hadShare ? 1 : 0,
          confirmed_at: new Date(a.destroyedAtMs).toISOString(),
        })
        .execute();
    }
    const confirmations = (await confirmationsOf(keyId)).map((c) => ({
      node_id: c.node_id,
      had_share: Number(c.had_share) === 1,
      confirmed_at: c.confirmed_at,
    }));
    const missing = answers
      .filter((a) => !a.confirmed && !confirmations.some((c) => c.node_id === a.nodeId))
      .map((a) => ({ node_id: a.nodeId, error: a.confirmed ? '' : a.error }));
    await audit.record({
      operation: 'KEY_DESTROY',
      result: missing.length === 0 ? 'SUCCESS' : 'FAILURE',
      requestId: ctx.requestId,
      userId: ctx.userId,
      keyId,
      nodeId: holders.join(','),
      durationMs: performance.now() - started,
      ...(missing.length > 0 ? { errorCode: 'CLUSTER_UNAVAILABLE' } : {}),
      trail: { ...ctx.trail, ...extra, confirmations, missing },
    });
    if (missing.length > 0) {
      throw new ApprovalExecutionError(
        503,
        'CLUSTER_UNAVAILABLE',
        `key ${keyId} is DESTROYED but ${missing.map((m) => m.node_id).join(', ')} did not confirm erasing its share; ` +
          'DELETE the key again once the node is back',
        { confirmations, missing },
      );
    }
    return { key_id: keyId, status: 'DESTROYED', confirmations };
  }

  /** Who asked and who approved, for the audit entry of an approved operation. */
  const approvedCtx = (approval: Approval, ctx: RequestContext): RequestContext => ({
    requestId: ctx.requestId,
    userId: approval.requester,
    trail: {
      ...ctx.trail,
      approval_id: approval.approval_id,
      approved_by: approval.decisions.filter((d) => d.decision === 'APPROVE').map((d) => d.access_key),
    },
  });

  opts.approvals.registerExecutor('KEY_SIGN', async (payload, approval, ctx) => {
    const keyId = String(payload.key_id);
    const req = SignRequestSchema.parse({
      data: payload.data,
      data_type: payload.data_type,
      encoding: payload.encoding,
    });
    const prepared = await prepareSign(keyId, req);
    const authorization = payload.authorization as SignAuthorization | undefined;
    return runSign(prepared, req, authorization, approvedCtx(approval, ctx), {});
  });
  opts.approvals.registerExecutor('KEY_STATUS_CHANGE', async (payload, approval, ctx) => {
    const status = payload.status as Exclude<KeyStatus, 'DESTROYED'>;
    const reason = typeof payload.reason === 'string' ? payload.reason : undefined;
    return applyStatus(String(payload.key_id), status, reason, approvedCtx(approval, ctx), {});
  });
  opts.approvals.registerExecutor('KEY_DESTROY', async (payload, approval, ctx) =>
    executeDestroy(String(payload.key_id), approvedCtx(approval, ctx), {}),
  );

  return {
    async abortSummary(keyId) {
      await rowOf(keyId);
      return { key_id: keyId, signer_sets: await opts.aborts.summary(keyId) };
    },

    async clearAbortCounts(keyId, ctx) {
      const row = await rowOf(keyId);
      const holders = JSON.parse(row.shard_nodes) as string[];
      const cleared = await onHolders('ABORT_COUNT_CLEAR', keyId, holders, ctx, {}, () =>
        coordinator.clearAbortCount(holders, keyId),
      );
      await audit.record({
        operation: 'ABORT_COUNT_CLEAR',
        result: 'SUCCESS',
        requestId: ctx.requestId,
        userId: ctx.userId,
        keyId,
        nodeId: holders.join(','),
        trail: { ...ctx.trail, cleared },
      });
      return { key_id: keyId, cleared };
    },

    async changeSignPolicy(keyId, req, ctx) {
      const row = await rowOf(keyId);
      const holders = JSON.parse(row.shard_nodes) as string[];
      const started = performance.now();
      const policyHash = await onHolders(
        'KEY_POLICY_CHANGE',
        keyId,
        holders,
        ctx,
        { version: req.policy.version },
        () => coordinator.changeSignPolicy(holders, { key_id: keyId, ...req }),
        started,
      );
      await opts.signPolicies.put(keyId, req.policy);
      await audit.record({
        operation: 'KEY_POLICY_CHANGE',
        result: 'SUCCESS',
        requestId: ctx.requestId,
        userId: ctx.userId,
        keyId,
        nodeId: holders.join(','),
        durationMs: performance.now() - started,
        dataHash: policyHash,
        trail: {
          ...ctx.trail,
          sign_policy: policySummary(req.policy),
          approved_by: req.approvals.map((a) => a.access_key),
        },
      });
      return withPolicy(keyFromRow(row));
    },

    async generate(req, ctx) {
      checkGenerateRequest(req, opts.algorithms, opts.nodeCount);
      const hash = requestHash(req);
      const idem = ctx.idempotencyKey;
      if (!idem) return { key: await generateNew(req, ctx, hash), created: true };
      const existing = await byIdempotencyKey(idem, hash);
      if (existing) return { key: await withPolicy(existing), created: false };
      // A concurrent request with the same Idempotency-Key waits for the first instead of racing it.
      const running = inflight.get(idem);
      if (running) {
        if (running.hash !== hash) {
          throw new ApiError(409, 'CONFLICT', 'Idempotency-Key is in use with a different request body');
        }
        try {
          return { key: await running.done, created: false };
        } catch (err) {
          // The first request audited its own failure; this one is audited as its own rejection.
          if (err instanceof ApiError) throw new ApiError(err.status, err.code, err.message, err.headers);
          throw err;
        }
      }
      const done = generateNew(req, ctx, hash);
      inflight.set(idem, { hash, done });
      try {
        return { key: await done, created: true };
      } finally {
        inflight.delete(idem);
      }
    },

    async get(keyId) {
      return withPolicy(keyFromRow(await rowOf(keyId)));
    },

    async list(query) {
      let q = db.selectFrom('keys').selectAll();
      if (query.label !== undefined) q = q.where('label', '=', query.label);
      if (query.status !== undefined) q = q.where('status', '=', query.status);
      if (query.cursor !== undefined) {
        const c = decodeCursor(query.cursor);
        q = q.where((eb) =>
          eb.or([
            eb('created_at', '<', c.created_at),
            eb.and([eb('created_at', '=', c.created_at), eb('key_id', '<', c.key_id)]),
          ]),
        );
      }
      const rows = await q
        .orderBy('created_at', 'desc')
        .orderBy('key_id', 'desc')
        .limit(query.limit + 1)
        .execute();
      const page = rows.slice(0, query.limit);
      const last = page[page.length - 1];
      return { keys: page.map(keyFromRow), next_cursor: rows.length > query.limit && last ? encodeCursor(last) : null };
    },

    async setStatus(keyId, status, reason, ctx) {
      const row = await rowOf(keyId);
      if (row.status === 'DESTROYED')
        throw new ApiError(409, 'CONFLICT', `key ${keyId} is DESTROYED; destruction is final`);
      const decision = await governed('KEY_STATUS_CHANGE', row, ctx, { to: status });
      if (decision.action === 'require_approval') {
        return {
          approval: await opts.approvals.request(
            {
              operation: 'KEY_STATUS_CHANGE',
              requester: ctx.userId ?? 'unknown',
              keyId,
              reason,
              payload: { key_id: keyId, status, ...(reason ? { reason } : {}) },
              requirements: decision.requirements,
            },
            { ...ctx, trail: { ...ctx.trail, ...decisionTrail(decision) } },
          ),
        };
      }
      return { done: await applyStatus(keyId, status, reason, ctx, decisionTrail(decision)) };
    },

    async sign(keyId, req, ctx) {
      const prepared = await prepareSign(keyId, req);
      const authorization = await clientAuthorizationFor(keyId, req, prepared.message, ctx);
      const decision = await governed('KEY_SIGN', prepared.row, ctx, {}, signFacts(req));
      if (decision.action === 'require_approval') {
        return {
          approval: await opts.approvals.request(
            {
              operation: 'KEY_SIGN',
              requester: ctx.userId ?? 'unknown',
              keyId,
              payload: { key_id: keyId, ...req, ...(authorization ? { authorization } : {}) },
              hidden: ['authorization'],
              requirements: decision.requirements,
            },
            {
              ...ctx,
              trail: { ...ctx.trail, ...decisionTrail(decision), data_sha256: bytesToHex(sha256(prepared.message)) },
            },
          ),
        };
      }
      return { done: await runSign(prepared, req, authorization, ctx, decisionTrail(decision)) };
    },

    async destroy(keyId, reason, ctx) {
      const row = await rowOf(keyId);
      const holders = JSON.parse(row.shard_nodes) as string[];
      if (row.status === 'DESTROYED') {
        const confirmed = await confirmationsOf(keyId);
        if (holders.every((h) => confirmed.some((c) => c.node_id === h))) {
          throw new ApiError(409, 'CONFLICT', `key ${keyId} is already destroyed and every holder confirmed`);
        }
      }
      const pending = await db
        .selectFrom('approvals')
        .select('approval_id')
        .where('key_id', '=', keyId)
        .where('operation', '=', 'KEY_DESTROY')
        .where('status', 'in', ['PENDING', 'APPROVED', 'EXECUTING'])
        .where('expires_at', '>=', nowIso())
        .executeTakeFirst();
      if (pending) {
        throw new ApiError(409, 'CONFLICT', `key ${keyId} already has a destruction request: ${pending.approval_id}`);
      }
      const decision = await governed('KEY_DESTROY', row, ctx, {});
      return opts.approvals.request(
        {
          operation: 'KEY_DESTROY',
          requester: ctx.userId ?? 'unknown',
          keyId,
          reason,
          payload: { key_id: keyId, ...(reason ? { reason } : {}) },
          requirements: [opts.destructionApproval, ...decision.requirements],
        },
        { ...ctx, trail: { ...ctx.trail, ...decisionTrail(decision), holders } },
      );
    },
  };
}

/** What sign rules look at: the EIP-712 domain and primary type, or the EIP-191 message text. */
export function signFacts(req: SignRequest): NonNullable<GovernedRequest['sign']> {
  if (req.data_type === 'EIP712') {
    let data: unknown = req.data;
    if (typeof data === 'string') {
      try {
        data = JSON.parse(data);
      } catch {
        data = undefined;
      }
    }
    const typed = (typeof data === 'object' && data !== null ? data : {}) as {
      domain?: Record<string, unknown>;
      primaryType?: unknown;
    };
    const domain = typed.domain ?? {};
    const facts: Eip712Facts = {
      chainId: domain.chainId,
      ...(typeof domain.verifyingContract === 'string' ? { verifyingContract: domain.verifyingContract } : {}),
      ...(typeof domain.name === 'string' ? { name: domain.name } : {}),
      primaryType: typeof typed.primaryType === 'string' ? typed.primaryType : '',
    };
    return { dataType: req.data_type, eip712: facts };
  }
  if (req.data_type === 'EIP191' && typeof req.data === 'string') {
    const text = req.encoding === 'utf8' ? req.data : Buffer.from(req.data.replace(/^0x/, ''), 'hex').toString('utf8');
    return { dataType: req.data_type, eip191Text: text };
  }
  return { dataType: req.data_type };
}
