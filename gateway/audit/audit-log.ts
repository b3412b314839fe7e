/**
 * Appends to the hash-chained audit log. Appends are serialised in-process, and `seq` is the
 * primary key, so even two writers racing on one database cannot fork the chain: the loser's
 * insert fails instead.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex } from '@noble/hashes/utils.js';
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
  /** Number of entries, for the metrics gauge. */
  length(): Promise<number>;
  /** Hex Ed25519 public key that verifies checkpoints. */
  readonly publicKeyHex: string;
}

export interface AuditLogOptions {
  db: Db;
  /** 32-byte Ed25519 secret key ($CUSTOS_HOME/gateway/audit.key). */
  signingKey: Uint8Array;
  checkpointEvery: number;
  serviceName?: string;
}

export function createAuditLog(opts: AuditLogOptions): AuditLog {
  const { db, signingKey, checkpointEvery } = opts;
  const serviceName = opts.serviceName ?? 'custos-gateway';
  let queue: Promise<unknown> = Promise.resolve();

  async function append(event: AuditEvent): Promise<{ seq: number; entryHash: string }> {
    return db.transaction().execute(async (tx) => {
      const tail = await tx
        .selectFrom('audit_log')
        .select(['seq', 'entry_hash'])
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst();
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
      if (entry.seq % checkpointEvery === 0) {
        const signature = bytesToHex(ed25519.sign(checkpointMessage(entry.seq, hash), signingKey));
        await tx
          .insertInto('audit_checkpoints')
          .values({ seq: entry.seq, entry_hash: hash, signature, created_at: entry.created_time })
          .execute();
      }
      return { seq: entry.seq, entryHash: hash };
    });
  }

  return {
    publicKeyHex: bytesToHex(ed25519.getPublicKey(signingKey)),
    record(event) {
      const result = queue.then(() => append(event));
      queue = result.catch(() => undefined);
      return result;
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
