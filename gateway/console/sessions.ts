/**
 * Console sessions: a random cookie whose SHA-256 is the row's key, a synchroniser CSRF token per
 * session, an idle and an absolute lifetime.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../db/index.ts';

export interface SessionPolicy {
  idleSeconds: number;
  absoluteSeconds: number;
}

export interface ConsoleSession {
  username: string;
  csrfToken: string;
}

const hashId = (token: string) => bytesToHex(sha256(new TextEncoder().encode(token)));

/** Constant-time comparison of a submitted CSRF token with the session's. */
export function csrfMatches(expected: string, submitted: unknown): boolean {
  if (typeof submitted !== 'string') return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(submitted);
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface ConsoleSessionStore {
  create(username: string, nowMs?: number): Promise<{ token: string; csrfToken: string }>;
  /** The live session of a cookie (refreshing its idle timer), or undefined. */
  lookup(token: string | undefined, nowMs?: number): Promise<ConsoleSession | undefined>;
  destroy(token: string): Promise<void>;
}

export function createConsoleSessionStore(db: Db, policy: SessionPolicy): ConsoleSessionStore {
  return {
    async create(username, nowMs = Date.now()) {
      const token = randomBytes(32).toString('base64url');
      const csrfToken = randomBytes(32).toString('base64url');
      const now = new Date(nowMs).toISOString();
      await db
        .insertInto('console_sessions')
        .values({
          id_hash: hashId(token),
          username,
          csrf_token: csrfToken,
          created_at: now,
          last_seen_at: now,
          expires_at: new Date(nowMs + policy.absoluteSeconds * 1000).toISOString(),
        })
        .execute();
      // Expired sessions of anyone go when someone logs in: the table stays small without a timer.
      await db.deleteFrom('console_sessions').where('expires_at', '<', now).execute();
      return { token, csrfToken };
    },

    async lookup(token, nowMs = Date.now()) {
      if (!token || !/^[\w-]{43}$/.test(token)) return undefined;
      const id = hashId(token);
      const row = await db.selectFrom('console_sessions').selectAll().where('id_hash', '=', id).executeTakeFirst();
      if (!row) return undefined;
      const idleEnd = Date.parse(row.last_seen_at) + policy.idleSeconds * 1000;
      if (nowMs >= Date.parse(row.expires_at) || nowMs >= idleEnd) {
        await db.deleteFrom('console_sessions').where('id_hash', '=', id).execute();
        return undefined;
      }
      await db
        .updateTable('console_sessions')
        .set({ last_seen_at: new Date(nowMs).toISOString() })
        .where('id_hash', '=', id)
        .execute();
      return { username: row.username, csrfToken: row.csrf_token };
    },

    async destroy(token) {
      await db.deleteFrom('console_sessions').where('id_hash', '=', hashId(token)).execute();
    },
  };
}
