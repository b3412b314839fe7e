/** Loads the TSS node gRPC service definition and types its messages for both ends. */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';

const PROTO_PATH = fileURLToPath(new URL('./tss.proto', import.meta.url));

const definition = protoLoader.loadSync(PROTO_PATH, {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
});
const loaded = grpc.loadPackageDefinition(definition) as unknown as {
  custos: { tss: { v1: { TssNode: grpc.ServiceClientConstructor } } };
};

export const TssNodeClient = loaded.custos.tss.v1.TssNode;
export const tssNodeService = TssNodeClient.service;

export interface HealthResponse {
  node_id: string;
  sealed: boolean;
  share_count: number;
  version: string;
  algorithms: string[];
  certificate: Buffer;
  gg18_preparams_ready: number;
  active_sessions: number;
}

export type SessionKind = 'KEYGEN' | 'SIGN' | 'REFRESH';

export interface SessionStart {
  session_id: string;
  kind: SessionKind;
  algo: string;
  key_id: string;
  parties: string[];
  holders: string[];
  threshold: number;
  message: Buffer;
  round_timeout_ms: number;
  peer_certificates: Record<string, Buffer>;
  /** KEYGEN: JSON SignPolicy, empty when the key trusts the gateway. */
  sign_policy: Buffer;
  /** SIGN: JSON SignAuthorization, empty when none. */
  authorization: Buffer;
  /** Unix ms when the gateway gives up on the session (node/session/seen-sessions.ts). */
  deadline_ms: number;
  /** SIGN and REFRESH: the share version to use; 0 means the one in use. */
  share_version?: number;
}

export interface FinishShareVersionRequest {
  key_id: string;
  version: number;
  activate: boolean;
}

export interface FinishShareVersionResponse {
  active_version: number;
  staged_version: number;
}

export interface PolicyChangeRequest {
  change: Buffer;
}

export interface PolicyChangeResponse {
  version: number;
  policy_sha256: string;
}

export interface Envelope {
  session_id: string;
  round: number;
  from: string;
  to: string;
  body: Uint8Array;
  ephemeral_public_key: Uint8Array;
  iv: Uint8Array;
  signature: Uint8Array;
}

export interface SessionResult {
  public_key: Uint8Array;
  public_info: Uint8Array;
  output: Uint8Array;
}

export interface SessionError {
  code: string;
  message: string;
  culprit: string;
  /** JSON AbortEvidence backing `culprit`; empty when the node has none. */
  evidence: Uint8Array;
}

export interface ClearAbortCountRequest {
  key_id: string;
}

export interface ClearAbortCountResponse {
  cleared: number;
}

export interface DestroyShareRequest {
  key_id: string;
}

export interface DestroyShareResponse {
  key_id: string;
  node_id: string;
  had_share: boolean;
  destroyed_at_ms: number;
}

export type SnapshotRequest = Record<string, never>;

export interface SnapshotEntry {
  key: string;
  value: Buffer;
}

/** One chunk of a node snapshot; the header fields are set on the first chunk only. */
export interface SnapshotChunk {
  node_id: string;
  wrapped_dek: Buffer;
  anchor: Buffer;
  entries: SnapshotEntry[];
  share_versions: Record<string, number>;
}

/** A node's certificate (DER), announced first on every session stream it accepts. */
export interface NodeCertificate {
  certificate: Uint8Array;
}

/** A decoded frame: exactly one of the fields is set, named by `frame`. */
export type SessionFrame =
  | { frame: 'start'; start: SessionStart }
  | { frame: 'envelope'; envelope: Envelope }
  | { frame: 'result'; result: SessionResult }
  | { frame: 'commit'; commit: Record<string, never> }
  | { frame: 'committed'; committed: Record<string, never> }
  | { frame: 'error'; error: SessionError }
  | { frame: 'certificate'; certificate: NodeCertificate };

/** Error codes a node puts in SessionError. */
export type SessionErrorCode =
  | 'BAD_START'
  | 'SEALED'
  | 'UNKNOWN_KEY'
  | 'AUTH_FAILED'
  | 'UNAUTHORIZED'
  | 'ABORT_LIMIT'
  | 'PROTOCOL_ABORT'
  | 'TIMEOUT'
  | 'REPLAY'
  | 'STORAGE'
  | 'STALE_SHARE'
  | 'INTERNAL';

/** Frames the node sends on its side of a session stream. */
export type NodeFrame = Extract<SessionFrame, { frame: 'envelope' | 'result' | 'committed' | 'error' | 'certificate' }>;
