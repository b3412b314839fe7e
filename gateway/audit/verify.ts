/** Verifies the audit log end to end: sequence, links, hashes and signed checkpoints. */
import { ed25519 } from '@noble/curves/ed25519.js';
import { hexToBytes } from '@noble/hashes/utils.js';
import type { Db } from '../db/index.ts';
import { checkpointMessage, entryHash, GENESIS_HASH } from './chain.ts';

export type AuditVerification =
  { ok: true; entries: number; checkpoints: number } | { ok: false; firstBadSeq: number; reason: string };

export interface VerifyOptions {
  /** Hex Ed25519 public key of the audit signing key; checkpoints are checked against it. */
  publicKeyHex: string;
  /** The writer's checkpoint interval: a missing checkpoint is reported too. */
  checkpointEvery: number;
}

const PAGE = 1000;

export async function verifyAuditLog(db: Db, opts: VerifyOptions): Promise<AuditVerification> {
  const checkpoints = new Map(
    (await db.selectFrom('audit_checkpoints').selectAll().orderBy('seq').execute()).map((c) => [Number(c.seq), c]),
  );
  const publicKey = hexToBytes(opts.publicKeyHex);
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  for (;;) {
    const rows = await db
      .selectFrom('audit_log')
      .selectAll()
      .where('seq', '>=', expectedSeq)
      .orderBy('seq')
      .limit(PAGE)
      .execute();
    for (const row of rows) {
      const seq = Number(row.seq);
      if (seq !== expectedSeq)
        return { ok: false, firstBadSeq: expectedSeq, reason: `entry ${expectedSeq} is missing (deleted)` };
      if (row.prev_hash !== prevHash) {
        return {
          ok: false,
          firstBadSeq: seq,
          reason: 'prev_hash does not match the previous entry (deleted or reordered)',
        };
      }
      if (entryHash(prevHash, row) !== row.entry_hash) {
        return { ok: false, firstBadSeq: seq, reason: 'entry_hash does not match the entry (edited)' };
      }
      const checkpoint = checkpoints.get(seq);
      if (seq % opts.checkpointEvery === 0 && !checkpoint) {
        return { ok: false, firstBadSeq: seq, reason: 'signed checkpoint is missing' };
      }
      if (checkpoint) {
        const signed = ed25519.verify(
          hexToBytes(checkpoint.signature),
          checkpointMessage(seq, checkpoint.entry_hash),
          publicKey,
        );
        if (!signed) return { ok: false, firstBadSeq: seq, reason: 'checkpoint signature is invalid' };
        if (checkpoint.entry_hash !== row.entry_hash) {
          return { ok: false, firstBadSeq: seq, reason: 'entry differs from its signed checkpoint (chain rewritten)' };
        }
      }
      prevHash = row.entry_hash;
      expectedSeq = seq + 1;
    }
    if (rows.length < PAGE) break;
  }
  const last = expectedSeq - 1;
  const beyond = [...checkpoints.keys()].filter((s) => s > last);
  if (beyond.length > 0) {
    return {
      ok: false,
      firstBadSeq: last + 1,
      reason: `entries after ${last} were deleted (checkpoint at ${Math.min(...beyond)})`,
    };
  }
  return { ok: true, entries: last, checkpoints: checkpoints.size };
}

export interface HeadComparison {
  head: { seq: number; entry_hash: string; created_time: string } | null;
  latest_checkpoint: { seq: number; entry_hash: string; created_at: string } | null;
  /** Entries after the latest signed checkpoint. */
  unsealed_entries: number;
  /** Set when the oldest unsealed entry is older than the writer's timer allows. */
  problem?: { firstBadSeq: number; reason: string };
}

/**
 * Compares the live head with the latest signed checkpoint. The writer seals a head that grew
 * at least every checkpoint interval, so an entry still unsealed after `maxUnsealedMs` means the
 * checkpoint that covered it was removed (or the writer's timer stopped): the entries after the
 * last checkpoint are exactly where an undetected rewrite could hide.
 */
export async function compareHead(
  db: Db,
  opts: { maxUnsealedMs: number; now?: () => number },
): Promise<HeadComparison> {
  const head = await db
    .selectFrom('audit_log')
    .select(['seq', 'entry_hash', 'created_time'])
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  const checkpoint = await db
    .selectFrom('audit_checkpoints')
    .select(['seq', 'entry_hash', 'created_at'])
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  const sealedUpTo = checkpoint ? Number(checkpoint.seq) : 0;
  const out: HeadComparison = {
    head: head ? { seq: Number(head.seq), entry_hash: head.entry_hash, created_time: head.created_time } : null,
    latest_checkpoint: checkpoint
      ? { seq: sealedUpTo, entry_hash: checkpoint.entry_hash, created_at: checkpoint.created_at }
      : null,
    unsealed_entries: Math.max(0, (head ? Number(head.seq) : 0) - sealedUpTo),
  };
  if (out.unsealed_entries === 0) return out;
  const oldest = await db
    .selectFrom('audit_log')
    .select(['seq', 'created_time'])
    .where('seq', '>', sealedUpTo)
    .orderBy('seq')
    .limit(1)
    .executeTakeFirst();
  const now = (opts.now ?? Date.now)();
  if (oldest && now - Date.parse(oldest.created_time) > opts.maxUnsealedMs) {
    out.problem = {
      firstBadSeq: Number(oldest.seq),
      reason:
        `entries ${Number(oldest.seq)}..${out.head!.seq} are not under a signed checkpoint although the oldest is ` +
        `${Math.round((now - Date.parse(oldest.created_time)) / 1000)} s old: a checkpoint was removed or the writer stopped sealing`,
    };
  }
  return out;
}
