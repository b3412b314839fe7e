/**
 * The console's read of the audit log: filtered pages (newest first, paged by seq) and exports.
 * Reads only; every write goes through the audit log's append.
 */
import { z } from 'zod';
import { AUDIT_OPERATIONS } from '../audit/chain.ts';
import type { Db } from '../db/index.ts';
import type { AuditRow } from '../db/schema.ts';

/** A datetime-local value (minutes or seconds), read as UTC. */
const LocalTimeSchema = z
  .string()
  .regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?$/, 'a date and time')
  .optional()
  .or(z.literal('').transform(() => undefined));
const optionalText = (max: number) =>
  z
    .string()
    .max(max)
    .optional()
    .transform((v) => (v === '' ? undefined : v));

export const AuditFilterSchema = z
  .object({
    operation: z
      .enum(AUDIT_OPERATIONS)
      .optional()
      .or(z.literal('').transform(() => undefined)),
    result: z
      .enum(['SUCCESS', 'FAILURE', 'REJECTED'])
      .optional()
      .or(z.literal('').transform(() => undefined)),
    user_id: optionalText(160),
    key_id: optionalText(64),
    from: LocalTimeSchema,
    to: LocalTimeSchema,
    before: z.coerce.number().int().min(1).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict();
export type AuditFilter = z.infer<typeof AuditFilterSchema>;

const toIso = (local: string) => `${local.length === 16 ? `${local}:00` : local}.000Z`;

function filtered(db: Db, f: Omit<AuditFilter, 'limit'>) {
  let q = db.selectFrom('audit_log').selectAll();
  if (f.operation) q = q.where('operation', '=', f.operation);
  if (f.result) q = q.where('result', '=', f.result);
  if (f.user_id) q = q.where('user_id', '=', f.user_id);
  if (f.key_id) q = q.where('key_id', '=', f.key_id);
  if (f.from) q = q.where('created_time', '>=', toIso(f.from));
  // `to` includes its whole minute or second.
  if (f.to)
    q = q.where(
      'created_time',
      '<',
      new Date(Date.parse(toIso(f.to)) + (f.to.length === 16 ? 60_000 : 1000)).toISOString(),
    );
  if (f.before) q = q.where('seq', '<', f.before);
  return q;
}

/** One page, newest first, and the `before` of the next page when there is one. */
export async function auditPageOf(db: Db, f: AuditFilter): Promise<{ rows: AuditRow[]; nextBefore?: number }> {
  const rows = await filtered(db, f)
    .orderBy('seq', 'desc')
    .limit(f.limit + 1)
    .execute();
  const page = rows.slice(0, f.limit);
  const last = page[page.length - 1];
  return rows.length > f.limit && last ? { rows: page, nextBefore: Number(last.seq) } : { rows: page };
}

/** Every matching entry, oldest first, as JSON lines, read a thousand at a time. */
export async function* exportJsonLines(db: Db, f: Omit<AuditFilter, 'limit'>): AsyncGenerator<string> {
  let after = 0;
  for (;;) {
    const rows = await filtered(db, f).where('seq', '>', after).orderBy('seq').limit(1000).execute();
    for (const row of rows)
      yield `${JSON.stringify({ ...row, audit_trail: JSON.parse(row.audit_trail) as unknown })}\n`;
    if (rows.length < 1000) return;
    after = Number(rows[rows.length - 1]!.seq);
  }
}

/** A key's most recent entries of one operation. */
export function recentForKey(db: Db, keyId: string, operation: 'KEY_SIGN' | 'KEY_STATUS_CHANGE', limit = 20) {
  return db
    .selectFrom('audit_log')
    .selectAll()
    .where('key_id', '=', keyId)
    .where('operation', '=', operation)
    .orderBy('seq', 'desc')
    .limit(limit)
    .execute();
}
