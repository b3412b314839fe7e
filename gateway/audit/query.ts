/** Reads the audit log by filter, a page at a time, oldest first (GET /api/v1/audit). */
import type { AuditItem, AuditPage, AuditQuery } from '../../common/api/schemas.ts';
import type { Db } from '../db/index.ts';
import type { AuditRow } from '../db/schema.ts';

export class BadCursorError extends Error {
  override readonly name = 'BadCursorError';
}

/** Opaque cursor: the seq of the last item of the previous page. */
export function encodeAuditCursor(seq: number): string {
  return Buffer.from(`audit:${seq}`, 'utf8').toString('base64url');
}

export function decodeAuditCursor(cursor: string): number {
  const m = /^audit:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw new BadCursorError('cursor: not a cursor returned by this API');
  return Number(m[1]);
}

export function itemOf(row: AuditRow): AuditItem {
  let trail: Record<string, unknown>;
  try {
    const parsed = JSON.parse(row.audit_trail) as unknown;
    trail =
      typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
        ? (parsed as Record<string, unknown>)
        : {};
  } catch {
    trail = { unparsable: row.audit_trail };
  }
  return {
    seq: Number(row.seq),
    operation: row.operation,
    result: row.result,
    user_id: row.user_id,
    key_id: row.key_id,
    request_id: row.request_id,
    error_code: row.error_code,
    created_time: row.created_time,
    service_name: row.service_name,
    node_id: row.node_id,
    duration_ms: row.duration_ms === null ? null : Number(row.duration_ms),
    data_hash: row.data_hash,
    audit_trail: trail,
    prev_hash: row.prev_hash,
    entry_hash: row.entry_hash,
  };
}

/** Stored times are `toISOString()` text; a query time with another offset is brought to that form. */
const asStored = (iso: string) => new Date(iso).toISOString();

export async function queryAudit(db: Db, query: AuditQuery): Promise<AuditPage> {
  const after = query.cursor === undefined ? 0 : decodeAuditCursor(query.cursor);
  let q = db.selectFrom('audit_log').selectAll().where('seq', '>', after);
  if (query.key_id !== undefined) q = q.where('key_id', '=', query.key_id);
  if (query.operation !== undefined) q = q.where('operation', '=', query.operation);
  if (query.access_key !== undefined) q = q.where('user_id', '=', query.access_key);
  if (query.result !== undefined) q = q.where('result', '=', query.result);
  if (query.from !== undefined) q = q.where('created_time', '>=', asStored(query.from));
  if (query.to !== undefined) q = q.where('created_time', '<', asStored(query.to));
  const rows = await q
    .orderBy('seq')
    .limit(query.limit + 1)
    .execute();
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  return {
    items: page.map(itemOf),
    next_cursor: rows.length > query.limit && last ? encodeAuditCursor(Number(last.seq)) : null,
  };
}
