/**
 * Appends to the hash-chained audit log. Appends are serialised in-process, and across replicas
 * every append first locks the one row of `audit_head` (SELECT ... FOR UPDATE on MySQL; SQLite has
 * a single writer), so two gateways never read the same tail: no insert fails and the chain never
 * forks. A lock timeout or deadlock the database still reports is retried.
 *
 * Checkpoints: every `checkpointEvery` entries, and on a timer for a head that grew since the last
 * checkpoint, so an entry is under a signature within one interval whatever the traffic.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { MysqlAdapter } from 'kysely';
import { nowIso, type Db } from '../db/index.ts';
import {
  checkpointMessage,
  entryHash,
  GENESIS_HASH,
  type AuditEntry,
  type AuditOperation,
  type AuditResult,
} from './chain.ts';

export interface AuditEvent {
  operation: AuditOperation;
  result: AuditResult;
  requestId?: string;
  userId?: string;
  keyId?: string;
  errorCode?: string;
  /** The node(s) involved, comma-separated for MPC sessions. */
  nodeId?: string;
  durationMs?: number;
  /** SHA-256 hex of the data operated on (never the data or any secret). */
  dataHash?: string;
  /** IP, user agent, method, path, reason: who and where, never credentials. */
  trail?: Record<string, unknown>;
}

export interface AuditLog {
  record(event: AuditEvent): Promise<{ seq: number; entryHash: string }>;
  /** Signs a checkpoint for the head unless it already has one; the timer calls it. Returns its seq. */
  sealHead(): Promise<number | undefined>;
  /** Number of entries, for the metrics gauge. */
  length(): Promise<number>;
  /** Stops the checkpoint timer. */
  close(): void;
  /** Hex Ed25519 public key that verifies checkpoints. */
  readonly publicKeyHex: string;
}

export interface AuditLogOptions {
  db: Db;
  /** 32-byte Ed25519 secret key ($CUSTOS_HOME/gateway/audit.key). */
  signingKey: Uint8Array;
  checkpointEvery: number;
  /** Seal the head this often when it grew (0 or absent: only every `checkpointEvery` entries). */
  checkpointIntervalMs?: number;
  serviceName?: string;
}

/** MySQL/MariaDB errors a retry resolves: lock wait timeout, deadlock. */
const RETRYABLE = new Set([1205, 1213]);
const MAX_ATTEMPTS = 20;

type Tx = Parameters<Parameters<ReturnType<Db['transaction']>['execute']>[0]>[0];

export function createAuditLog(opts: AuditLogOptions): AuditLog {
  const { db, signingKey, checkpointEvery } = opts;
  const serviceName = opts.serviceName ?? 'custos-gateway';
  const mysql = db.getExecutor().adapter instanceof MysqlAdapter;
  let queue: Promise<unknown> = Promise.resolve();

  /** Takes the cross-replica append lock for the rest of the transaction. */
  async function lockHead(tx: Tx): Promise<void> {
    if (mysql) await tx.selectFrom('audit_head').select('id').where('id', '=', 1).forUpdate().execute();
  }

  /** A locking read on MySQL, so it sees the latest committed tail rather than a snapshot. */
  async function tailOf(tx: Tx) {
    const q = tx.selectFrom('audit_log').select(['seq', 'entry_hash']).orderBy('seq', 'desc').limit(1);
    return (mysql ? q.forUpdate() : q).executeTakeFirst();
  }

  async function writeCheckpoint(tx: Tx, seq: number, hash: string, at: string): Promise<void> {
    const signature = bytesToHex(ed25519.sign(checkpointMessage(seq, hash), signingKey));
    await tx.insertInto('audit_checkpoints').values({ seq, entry_hash: hash, signature, created_at: at }).execute();
  }

  async function withRetry<T>(work: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (err) {
        const errno = (err as { errno?: number }).errno;
        if (!mysql || errno === undefined || !RETRYABLE.has(errno) || attempt >= MAX_ATTEMPTS) throw err;
      }
    }
  }

  async function append(event: AuditEvent): Promise<{ seq: number; entryHash: string }> {
    return withRetry(() =>
      db.transaction().execute(async (tx) => {
        await lockHead(tx);
        const tail = await tailOf(tx);
        const prevHash = tail?.entry_hash ?? GENESIS_HASH;
        const entry: AuditEntry = {
          seq: tail ? Number(tail.seq) + 1 : 1,
          request_id: event.requestId ?? null,
          user_id: event.userId ?? null,
          key_id: event.keyId ?? null,
          operation: event.operation,
          result: event.result,
          error_code: event.errorCode ?? null,
          created_time: nowIso(),
          service_name: serviceName,
          node_id: event.nodeId ?? null,
          duration_ms: event.durationMs === undefined ? null : Math.round(event.durationMs),
          data_hash: event.dataHash ?? null,
          audit_trail: JSON.stringify(event.trail ?? {}),
        };
        const hash = entryHash(prevHash, entry);
        await tx
          .insertInto('audit_log')
          .values({ ...entry, prev_hash: prevHash, entry_hash: hash })
          .execute();
        if (entry.seq % checkpointEvery === 0) await writeCheckpoint(tx, entry.seq, hash, entry.created_time);
        return { seq: entry.seq, entryHash: hash };
      }),
    );
  }

  async function sealHead(): Promise<number | undefined> {
    return withRetry(() =>
      db.transaction().execute(async (tx) => {
        await lockHead(tx);
        const tail = await tailOf(tx);
        if (!tail) return undefined;
        const seq = Number(tail.seq);
        const sealed = await tx.selectFrom('audit_checkpoints').select('seq').where('seq', '=', seq).executeTakeFirst();
        if (!sealed) await writeCheckpoint(tx, seq, tail.entry_hash, nowIso());
        return seq;
      }),
    );
  }

  const serialised = <T>(work: () => Promise<T>): Promise<T> => {
    const result = queue.then(work);
    queue = result.catch(() => undefined);
    return result;
  };

  const interval = opts.checkpointIntervalMs ?? 0;
  let timer: NodeJS.Timeout | undefined;
  if (interval > 0) {
    timer = setInterval(() => {
      // A failed seal is retried on the next tick; verify reports a head left unsealed too long.
      serialised(sealHead).catch(() => undefined);
    }, interval);
    timer.unref();
  }

  return {
    publicKeyHex: bytesToHex(ed25519.getPublicKey(signingKey)),
    record: (event) => serialised(() => append(event)),
    sealHead: () => serialised(sealHead),
    close() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
    async length() {
      const row = await db
        .selectFrom('audit_log')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },
  };
}
