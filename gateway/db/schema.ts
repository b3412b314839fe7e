/** Table types of the metadata database; one definition for SQLite and MySQL. */
import type { Generated, Insertable, Selectable } from 'kysely';

export interface KeysTable {
  key_id: string;
  label: string | null;
  status: string;
  algo: string;
  curve: string;
  shard_count: number;
  threshold: number;
  /** 0x-hex. */
  public_key: string;
  /** Keygen's public verification data (commitments, verifying shares): public, never share material. */
  public_info: Uint8Array;
  address: string;
  /** JSON object chain -> address. */
  addresses: string;
  /** JSON array of node ids in holder-index order. */
  shard_nodes: string;
  idempotency_key: string | null;
  /** SHA-256 hex of the canonical generate request, to tell an idempotent replay from a conflict. */
  request_hash: string | null;
  /** ISO-8601 UTC with milliseconds: sorts as text in both dialects. */
  created_at: string;
  updated_at: string;
  /** The share version the holders sign with; a refresh moves it up by one at its commit point. */
  share_version: Generated<number>;
}

export interface KeyOperationsTable {
  operation_id: string;
  /** REFRESH. */
  kind: string;
  key_id: string;
  /** PENDING, RUNNING, SUCCEEDED or FAILED. */
  status: string;
  reason: string | null;
  from_version: number;
  to_version: number;
  /** 1 once every holder staged `to_version` and the key moved to it: the commit point. */
  decided: number;
  request_id: string | null;
  user_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface AccessKeysTable {
  access_key: string;
  /** AES-256-GCM under the gateway master key: base64 of iv ‖ ciphertext ‖ tag. */
  secret_key_enc: string;
  enabled: number;
  /** JSON array of CIDRs; empty means any source address. */
  allowed_cidrs: string;
  description: string | null;
  created_at: string;
  /** JSON array of roles (gateway/auth/roles.ts). */
  roles: Generated<string>;
  name: string | null;
  /** JSON array of scopes (gateway/auth/scopes.ts); null or [] means every key. */
  scopes: string | null;
  /** The secret a rotation replaced, sealed like secret_key_enc, valid until the expiry. */
  previous_secret_enc: string | null;
  previous_secret_expires_at: string | null;
}

/** One row (id 1) that every audit append locks, so replicas append one at a time. */
export interface AuditHeadTable {
  id: number;
}

export interface AuditLogTable {
  seq: number;
  request_id: string | null;
  user_id: string | null;
  key_id: string | null;
  operation: string;
  result: string;
  error_code: string | null;
  created_time: string;
  service_name: string;
  node_id: string | null;
  duration_ms: number | null;
  data_hash: string | null;
  /** JSON: ip, user agent, method, path, reason. */
  audit_trail: string;
  prev_hash: string;
  entry_hash: string;
}

export interface AuditCheckpointsTable {
  seq: number;
  entry_hash: string;
  /** Hex Ed25519 signature over the checkpoint message. */
  signature: string;
  created_at: string;
}

export interface ClientPublicKeysTable {
  access_key: string;
  /** ED25519 or P256. */
  algorithm: string;
  /** Raw Ed25519 or compressed P-256 point, lowercase hex. */
  public_key: string;
  created_at: string;
}

export interface KeySignPoliciesTable {
  key_id: string;
  /** JSON SignPolicy (common/authz/client-keys.ts). */
  policy: string;
  updated_at: string;
}

export interface MpcAbortsTable {
  session_id: string;
  key_id: string;
  /** KEY_GENERATE or KEY_SIGN. */
  operation: string;
  /** Comma-separated participants, sorted: the signer set. */
  signers: string;
  /** guilty (culprit proven), refuted (false accuser), unattributed, unavailable, timeout. */
  outcome: string;
  /** The proven culprit, the false accuser, or the unresponsive node; null when nobody. */
  node_id: string | null;
  reason: string;
  created_at: string;
}

export interface ConsoleUsersTable {
  username: string;
  /** scrypt$N$r$p$salt$hash (gateway/console/password.ts). */
  password_hash: string;
  /** Base32 TOTP secret sealed under the gateway master key (AAD: the username). */
  totp_secret_enc: string;
  /** JSON array of roles, the same as access keys' (gateway/auth/roles.ts). */
  roles: string;
  enabled: Generated<number>;
  failed_logins: Generated<number>;
  locked_until: string | null;
  /** The last TOTP time step accepted: a code is good once. */
  totp_last_step: number | string | null;
  created_at: string;
}

export interface ConsoleSessionsTable {
  /** SHA-256 hex of the session cookie: a read of the table does not yield a usable session. */
  id_hash: string;
  username: string;
  /** The synchroniser token every form of this session carries. */
  csrf_token: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
}

/** A risk-control policy (gateway/policies/document.ts); `version` grows with every update. */
export interface PoliciesTable {
  policy_id: string;
  name: string;
  /** JSON PolicyDocument. */
  document: string;
  version: number;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

/** A four-eyes approval request (gateway/approvals/state.ts); `version` guards every transition. */
export interface ApprovalsTable {
  approval_id: string;
  operation: string;
  status: string;
  requester: string;
  key_id: string | null;
  reason: string | null;
  /** JSON: what runs once approved. */
  payload: string;
  /** JSON ApprovalRequirement[]. */
  requirements: string;
  /** JSON ApprovalDecision[]. */
  decisions: string;
  /** JSON result of the execution (EXECUTED). */
  result: string | null;
  /** JSON {code, message} of a failed execution (FAILED). */
  error: string | null;
  version: number;
  /** The replica's claim token that executed it. */
  executed_by: string | null;
  created_at: string;
  expires_at: string;
  updated_at: string;
}

/** One permitted sign, counted by velocity rules. */
export interface SignVelocityTable {
  event_id: string;
  key_id: string;
  access_key: string;
  created_ms: number;
}

/** A holder's confirmation that it erased its share of a destroyed key. */
export interface KeyDestructionsTable {
  key_id: string;
  node_id: string;
  /** 1 when the node still held a share it then erased, 0 when it held none (tombstone only). */
  had_share: number;
  confirmed_at: string;
}

export interface Database {
  console_users: ConsoleUsersTable;
  console_sessions: ConsoleSessionsTable;
  policies: PoliciesTable;
  approvals: ApprovalsTable;
  sign_velocity: SignVelocityTable;
  key_destructions: KeyDestructionsTable;
  key_operations: KeyOperationsTable;
  mpc_aborts: MpcAbortsTable;
  keys: KeysTable;
  client_public_keys: ClientPublicKeysTable;
  key_sign_policies: KeySignPoliciesTable;
  access_keys: AccessKeysTable;
  audit_log: AuditLogTable;
  audit_checkpoints: AuditCheckpointsTable;
  audit_head: AuditHeadTable;
}

export type KeyRow = Selectable<KeysTable>;
export type KeyOperationRow = Selectable<KeyOperationsTable>;
export type NewKeyRow = Insertable<KeysTable>;
export type AccessKeyRow = Selectable<AccessKeysTable>;
export type AuditRow = Selectable<AuditLogTable>;
export type CheckpointRow = Selectable<AuditCheckpointsTable>;
export type ConsoleUserRow = Selectable<ConsoleUsersTable>;
export type ConsoleSessionRow = Selectable<ConsoleSessionsTable>;
export type PolicyRow = Selectable<PoliciesTable>;
export type ApprovalRow = Selectable<ApprovalsTable>;
