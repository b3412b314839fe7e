/**
 * Plays the attacker with DDL rights on the database (a DBA, a stolen root account): drops the
 * triggers that keep the audit tables append-only, so the tests can show what the hash chain and
 * the signed checkpoints still catch.
 */
import { sql } from 'kysely';
import type { Db } from '../db/index.ts';

export async function dropAuditTriggers(db: Db): Promise<void> {
  for (const table of ['audit_log', 'audit_checkpoints']) {
    for (const op of ['update', 'delete']) {
      await sql`drop trigger if exists ${sql.raw(`${table}_no_${op}`)}`.execute(db);
    }
  }
}
