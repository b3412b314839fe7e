/**
 * Proactive share refresh as a long-running operation (docs/key-lifecycle.md). The gateway is the
 * coordinator of a two-phase commit whose durable state is the operation row:
 *
 *   1. prepare: a REFRESH session among every holder; each node stages version v+1 beside v.
 *   2. decide:  once every holder staged v+1, one transaction moves the key to v+1 and marks the
 *               operation decided. From here signing asks for v+1 (staged or active at a node).
 *   3. finish:  each holder activates v+1 and erases v; repeated until every holder did.
 *
 * A failure before the decision discards the staged versions (signing never stopped using v); a
 * crash of the gateway is resolved by `recover` on the next start by the same rule. So the key
 * always signs with a complete old set or a complete new set, never a mix.
 */
import { randomBytes } from 'node:crypto';
import { bytesToHex } from '@noble/hashes/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { Logger } from 'pino';
import type { Operation, OperationStatus } from '../../common/api/schemas.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { MpcSessionError, type MpcCoordinator } from '../coordinator/types.ts';
import { nowIso, type Db } from '../db/index.ts';
import type { KeyOperationRow, KeyRow } from '../db/schema.ts';
import { ApiError } from '../http/errors.ts';
import type { RequestContext } from './service.ts';

export interface RefreshServiceOptions {
  readonly db: Db;
  readonly coordinator: MpcCoordinator;
  readonly audit: AuditLog;
  readonly logger: Logger;
  /** Algorithms whose nodes can refresh. */
  readonly algorithms: readonly string[];
  /** How often unfinished operations are retried (activation at holders that were down). */
  readonly retryMs?: number;
}

export interface RefreshService {
  /** Starts a refresh; answers at once with the PENDING operation. */
  start(keyId: string, ctx: RequestContext): Promise<Operation>;
  get(operationId: string): Promise<Operation>;
  /** Resolves every unfinished operation (gateway start, and periodically): discard or finish. */
  recover(): Promise<void>;
  /** Waits for running work and stops the retry timer. */
  close(): Promise<void>;
}

export const newOperationId = (): string => `op_${randomBytes(16).toString('hex')}`;

export function operationFromRow(row: KeyOperationRow): Operation {
  return {
    operation_id: row.operation_id,
    kind: 'REFRESH',
    key_id: row.key_id,
    status: row.status as OperationStatus,
    reason: row.reason,
    from_version: Number(row.from_version),
    to_version: Number(row.to_version),
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/** Why a key may not be refreshed now, as an API error; undefined when it may. Pure. */
export function refreshRefusal(key: KeyRow, algorithms: readonly string[]): ApiError | undefined {
  if (key.status === 'FROZEN') {
    return new ApiError(409, 'KEY_FROZEN', `key ${key.key_id} is FROZEN; unfreeze it before refreshing its shares`);
  }
  if (key.status === 'ARCHIVED') {
    return new ApiError(409, 'KEY_ARCHIVED', `key ${key.key_id} is ARCHIVED; its shares are never refreshed`);
  }
  if (!algorithms.includes(key.algo)) {
    return new ApiError(422, 'UNSUPPORTED_ALGORITHM', `algo_type ${key.algo} has no share refresh in this cluster`);
  }
  return undefined;
}

export function createRefreshService(opts: RefreshServiceOptions): RefreshService {
  const { db, coordinator, audit, logger: log } = opts;
  /** Operations this process is driving now; `recover` leaves them alone. */
  const driving = new Map<string, Promise<void>>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  async function setStatus(id: string, status: OperationStatus, reason: string | null): Promise<void> {
    await db
      .updateTable('key_operations')
      .set({ status, reason, updated_at: nowIso() })
      .where('operation_id', '=', id)
      .execute();
  }

  async function record(op: KeyOperationRow, result: 'SUCCESS' | 'FAILURE', holders: readonly string[], extra: object) {
    await audit.record({
      operation: 'KEY_REFRESH',
      result,
      requestId: op.request_id ?? undefined,
      userId: op.user_id ?? undefined,
      keyId: op.key_id,
      nodeId: holders.join(','),
      ...(result === 'FAILURE' ? { errorCode: 'MPC_SESSION_FAILED' } : {}),
      trail: { operation_id: op.operation_id, from_version: op.from_version, to_version: op.to_version, ...extra },
    });
  }

  /** Drops a staged version at every holder that answers; a holder that does not keeps it harmlessly (never named by signing). */
  async function discardEverywhere(op: KeyOperationRow, holders: readonly string[]): Promise<void> {
    await Promise.allSettled(
      holders.map((h) => coordinator.finishShareVersion(h, op.key_id, Number(op.to_version), false)),
    );
  }

  async function fail(op: KeyOperationRow, holders: readonly string[], reason: string): Promise<void> {
    await discardEverywhere(op, holders);
    await setStatus(op.operation_id, 'FAILED', reason);
    await record(op, 'FAILURE', holders, { reason });
    log.warn(
      { operation: op.operation_id, key: op.key_id, reason },
      'share refresh failed; the old shares stay in use',
    );
  }

  /** Phase three: activate at every holder; true when all did. */
  async function activateEverywhere(op: KeyOperationRow, holders: readonly string[]): Promise<boolean> {
    const results = await Promise.allSettled(
      holders.map((h) => coordinator.finishShareVersion(h, op.key_id, Number(op.to_version), true)),
    );
    const pending = holders.filter((_, i) => {
      const r = results[i]!;
      return r.status === 'rejected' || r.value.active !== Number(op.to_version) || r.value.staged !== 0;
    });
    if (pending.length > 0) {
      await setStatus(
        op.operation_id,
        'RUNNING',
        `new shares are in use; waiting to erase the old ones at ${pending.join(', ')}`,
      );
      return false;
    }
    await setStatus(op.operation_id, 'SUCCEEDED', null);
    return true;
  }

  async function run(op: KeyOperationRow, key: KeyRow): Promise<void> {
    const holders = JSON.parse(key.shard_nodes) as string[];
    const started = performance.now();
    await setStatus(op.operation_id, 'RUNNING', null);
    let result;
    try {
      result = await coordinator.refresh({
        keyId: key.key_id,
        algo: key.algo,
        holders,
        threshold: Number(key.threshold),
        shareVersion: Number(op.from_version),
      });
      if (`0x${bytesToHex(result.publicKey)}` !== key.public_key) {
        throw new MpcSessionError('holders reported a different public key after refresh');
      }
    } catch (err) {
      const culprit = err instanceof MpcSessionError && err.culprit ? ` (node: ${err.culprit})` : '';
      return fail(op, holders, `${err instanceof Error ? err.message : String(err)}${culprit}`);
    }
    // The commit point: the key moves to the new version only if nobody else moved it.
    const decided = await db.transaction().execute(async (tx) => {
      const moved = await tx
        .updateTable('keys')
        .set({
          share_version: Number(op.to_version),
          public_info: Buffer.from(result.publicInfo),
          updated_at: nowIso(),
        })
        .where('key_id', '=', key.key_id)
        .where('share_version', '=', Number(op.from_version))
        .executeTakeFirst();
      if (Number(moved.numUpdatedRows) !== 1) return false;
      await tx
        .updateTable('key_operations')
        .set({ decided: 1, updated_at: nowIso() })
        .where('operation_id', '=', op.operation_id)
        .execute();
      return true;
    });
    if (!decided) return fail(op, holders, 'the key changed while its shares were refreshed');
    const done = await activateEverywhere(op, holders);
    await record(op, 'SUCCESS', holders, {
      public_info_sha256: bytesToHex(sha256(result.publicInfo)),
      duration_ms: Math.round(performance.now() - started),
      ...(done ? {} : { old_shares_pending_erasure: true }),
    });
    log.info({ operation: op.operation_id, key: key.key_id, version: op.to_version }, 'shares refreshed');
  }

  function drive(op: KeyOperationRow, key: KeyRow): void {
    const work = run(op, key)
      .catch((err: unknown) => {
        // The database failed under us: leave the row for `recover`, which decides from what it says.
        log.error({ operation: op.operation_id, err: (err as Error).message }, 'refresh interrupted');
      })
      .finally(() => driving.delete(op.operation_id));
    driving.set(op.operation_id, work);
  }

  async function recover(): Promise<void> {
    const open = await db
      .selectFrom('key_operations')
      .selectAll()
      .where('status', 'in', ['PENDING', 'RUNNING'])
      .execute();
    for (const op of open) {
      if (driving.has(op.operation_id)) continue;
      const key = await db.selectFrom('keys').selectAll().where('key_id', '=', op.key_id).executeTakeFirst();
      const holders = key ? (JSON.parse(key.shard_nodes) as string[]) : [];
      if (Number(op.decided) === 1) {
        if (await activateEverywhere(op, holders)) {
          log.info({ operation: op.operation_id }, 'refresh finished: old shares erased at every holder');
        }
      } else {
        await fail(op, holders, 'interrupted before every holder staged the new shares; the old shares stay in use');
      }
    }
  }

  function schedule(): void {
    if (closed) return;
    timer = setTimeout(() => {
      recover()
        .catch((err: unknown) => log.warn({ err: (err as Error).message }, 'refresh recovery failed; will retry'))
        .finally(schedule);
    }, opts.retryMs ?? 30_000);
    timer.unref();
  }
  schedule();

  return {
    async start(keyId, ctx) {
      const key = await db.selectFrom('keys').selectAll().where('key_id', '=', keyId).executeTakeFirst();
      if (!key) throw new ApiError(404, 'NOT_FOUND', `key ${keyId} not found`);
      const refusal = refreshRefusal(key, opts.algorithms);
      if (refusal) throw refusal;
      const now = nowIso();
      const from = Number(key.share_version);
      const row: KeyOperationRow = {
        operation_id: newOperationId(),
        kind: 'REFRESH',
        key_id: keyId,
        status: 'PENDING',
        reason: null,
        from_version: from,
        to_version: from + 1,
        decided: 0,
        request_id: ctx.requestId,
        user_id: ctx.userId ?? null,
        created_at: now,
        updated_at: now,
      };
      // One refresh per key at a time: checked and inserted in one transaction.
      await db.transaction().execute(async (tx) => {
        const running = await tx
          .selectFrom('key_operations')
          .select('operation_id')
          .where('key_id', '=', keyId)
          .where('status', 'in', ['PENDING', 'RUNNING'])
          .executeTakeFirst();
        if (running) {
          throw new ApiError(
            409,
            'OPERATION_IN_PROGRESS',
            `operation ${running.operation_id} is still refreshing key ${keyId}`,
          );
        }
        await tx.insertInto('key_operations').values(row).execute();
      });
      drive(row, key);
      return operationFromRow(row);
    },

    async get(operationId) {
      const row = await db
        .selectFrom('key_operations')
        .selectAll()
        .where('operation_id', '=', operationId)
        .executeTakeFirst();
      if (!row) throw new ApiError(404, 'NOT_FOUND', `operation ${operationId} not found`);
      return operationFromRow(row);
    },

    recover,

    async close() {
      closed = true;
      clearTimeout(timer);
      await Promise.allSettled([...driving.values()]);
    },
  };
}
