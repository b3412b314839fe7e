/** The audit log's hash chain and checkpoint message: pure functions shared by writer and verifier. */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import type { AuditLogTable } from '../db/schema.ts';

export const AUDIT_OPERATIONS = [
  'KEY_GENERATE',
  'KEY_SIGN',
  'KEY_STATUS_CHANGE',
  'KEY_POLICY_CHANGE',
  'CONFIG_CHANGE',
  'APPROVAL_RESULT',
  'KEY_REFRESH',
  'ABORT_COUNT_CLEAR',
  'NODE_START',
  'NODE_STOP',
  'AUTH_REJECTED',
  'REQUEST_REJECTED',
  'ADMIN_LOGIN',
  'ADMIN_LOGOUT',
  // Governance: key destruction, four-eyes approvals, policy changes (docs/policies-and-approvals.md).
  'KEY_DESTROY',
  'APPROVAL_REQUEST',
  'BACKUP_CREATE',
  'BACKUP_VERIFY',
  'BACKUP_RESTORE',
] as const;
export type AuditOperation = (typeof AUDIT_OPERATIONS)[number];
export type AuditResult = 'SUCCESS' | 'FAILURE' | 'REJECTED';

/** The hashed part of an entry: every column except prev_hash and entry_hash. */
export type AuditEntry = Omit<AuditLogTable, 'prev_hash' | 'entry_hash'>;

/** The hash that precedes the first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/** JSON with object keys sorted at every level, so the same entry always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

/** Picks exactly the hashed fields, so extra columns from a row never change the hash. */
export function entryOf(row: AuditEntry): AuditEntry {
  return {
    seq: Number(row.seq),
    request_id: row.request_id,
    user_id: row.user_id,
    key_id: row.key_id,
    operation: row.operation,
    result: row.result,
    error_code: row.error_code,
    created_time: row.created_time,
    service_name: row.service_name,
    node_id: row.node_id,
    duration_ms: row.duration_ms === null ? null : Number(row.duration_ms),
    data_hash: row.data_hash,
    audit_trail: row.audit_trail,
  };
}

/** entry_hash = SHA-256(prev_hash ‖ canonical JSON of the entry), lowercase hex. */
export function entryHash(prevHash: string, entry: AuditEntry): string {
  return bytesToHex(sha256(utf8ToBytes(prevHash + canonicalJson(entryOf(entry)))));
}

/** The bytes an audit checkpoint signs. */
export function checkpointMessage(seq: number, hash: string): Uint8Array {
  return utf8ToBytes(`custos-audit-checkpoint\n${seq}\n${hash}`);
}
