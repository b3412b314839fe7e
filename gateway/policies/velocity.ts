/**
 * Sign counts for velocity rules, kept in the metadata database so that every gateway replica
 * counts the same signs. A sign is recorded before its count is read, so two replicas racing
 * each see the other's sign: concurrency can only make a limit stricter, never let one more through.
 */
import { randomBytes } from 'node:crypto';
import type { Db } from '../db/index.ts';
import { velocityKey, type VelocityWindow } from './evaluate.ts';

/** Longest window a rule may name (common/api/policy-document.ts); older events are pruned. */
const MAX_WINDOW_MS = 31 * 86400 * 1000;

export interface VelocityLedger {
  /** Records one sign now; returns its id (to withdraw it if the sign is then refused). */
  record(keyId: string, accessKey: string, nowMs: number): Promise<string>;
  withdraw(eventId: string): Promise<void>;
  /** Signs in each window up to `nowMs`, counting those already recorded. */
  counts(
    keyId: string,
    accessKey: string,
    windows: readonly VelocityWindow[],
    nowMs: number,
  ): Promise<Map<string, number>>;
}

export function createVelocityLedger(db: Db): VelocityLedger {
  let recorded = 0;
  return {
    async record(keyId, accessKey, nowMs) {
      const eventId = randomBytes(16).toString('hex');
      await db
        .insertInto('sign_velocity')
        .values({ event_id: eventId, key_id: keyId, access_key: accessKey, created_ms: nowMs })
        .execute();
      if (++recorded % 500 === 0) {
        await db
          .deleteFrom('sign_velocity')
          .where('created_ms', '<', nowMs - MAX_WINDOW_MS)
          .execute();
      }
      return eventId;
    },
    async withdraw(eventId) {
      await db.deleteFrom('sign_velocity').where('event_id', '=', eventId).execute();
    },
    async counts(keyId, accessKey, windows, nowMs) {
      const out = new Map<string, number>();
      for (const w of windows) {
        const column = w.per === 'key' ? 'key_id' : 'access_key';
        const row = await db
          .selectFrom('sign_velocity')
          .select((eb) => eb.fn.countAll<number | string>().as('n'))
          .where(column, '=', w.per === 'key' ? keyId : accessKey)
          .where('created_ms', '>', nowMs - w.windowSeconds * 1000)
          .executeTakeFirst();
        out.set(velocityKey(w), Number(row?.n ?? 0));
      }
      return out;
    },
  };
}
