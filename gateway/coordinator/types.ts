import type { PolicyChange, SignAuthorization, SignPolicy } from '../../common/authz/client-keys.ts';
import type { NodeBackup } from '../../common/backup/node-file.ts';
import type { PartyId } from '../../common/protocols/types.ts';

/** What the gateway knows of one TSS node right now. */
export interface NodeHealth {
  readonly nodeId: PartyId;
  readonly reachable: boolean;
  readonly sealed: boolean;
  readonly shareCount: number;
  readonly version: string;
  /** Round-trip of the last health call; lower is healthier. */
  readonly latencyMs: number;
  /** GG18 pre-params the node has ready (keygen on an empty pool waits for safe primes). */
  readonly preParamsReady?: number;
  /** MPC sessions the node is running now (unknown while unreachable). */
  readonly activeSessions?: number;
}

export interface KeygenRequest {
  readonly keyId: string;
  readonly algo: string;
  /** The shard holders, in index order. */
  readonly holders: readonly PartyId[];
  readonly threshold: number;
  /** Which client keys may sign; absent: the key trusts the gateway. */
  readonly signPolicy?: SignPolicy;
}

export interface RefreshRequest {
  readonly keyId: string;
  readonly algo: string;
  readonly holders: readonly PartyId[];
  readonly threshold: number;
  /** The share version every holder has in use now. */
  readonly shareVersion: number;
}

export interface RefreshResult {
  readonly publicKey: Uint8Array;
  readonly publicInfo: Uint8Array;
  /** The version every holder staged (shareVersion + 1). */
  readonly stagedVersion: number;
}

/** One holder's versions of a key after a FinishShareVersion call. */
export interface HolderVersions {
  readonly active: number;
  readonly staged: number;
}

export interface KeygenResult {
  readonly publicKey: Uint8Array;
  readonly publicInfo: Uint8Array;
}

export interface SignRequest {
  readonly keyId: string;
  readonly algo: string;
  readonly holders: readonly PartyId[];
  /** The `threshold` healthy holders that sign. */
  readonly signers: readonly PartyId[];
  readonly threshold: number;
  readonly publicKey: Uint8Array;
  readonly publicInfo: Uint8Array;
  /** The exact bytes the algorithm signs (a 32-byte digest for ECDSA, the message for EdDSA/BLS). */
  readonly message: Uint8Array;
  /** The client's signed consent, forwarded to every signer (required by keys with a sign policy). */
  readonly authorization?: SignAuthorization;
  /** The share version the signers must use (after a refresh); absent: the one in use. */
  readonly shareVersion?: number;
}

/** Who an abort is pinned on, after the gateway checked the evidence (docs/security.md, "Identifiable abort"). */
export type AbortAttribution =
  /** A culprit proven by evidence, or by the gateway's own check of its output. */
  | { readonly outcome: 'guilty'; readonly node: PartyId }
  /** A node named a culprit with evidence that does not hold up: the accuser is counted. */
  | { readonly outcome: 'refuted'; readonly node: PartyId }
  | { readonly outcome: 'unattributed' };

/**
 * Thrown when a session fails; `culprit` names a node that cheated (proven) or failed (went away,
 * timed out), when known; `attribution` says who a protocol abort is pinned on.
 */
export class MpcSessionError extends Error {
  constructor(
    message: string,
    readonly culprit?: PartyId,
    readonly kind: 'abort' | 'timeout' | 'unavailable' | 'unauthorized' | 'locked' = 'abort',
    readonly attribution: AbortAttribution = culprit && kind === 'abort'
      ? { outcome: 'guilty', node: culprit }
      : { outcome: 'unattributed' },
    /** The session and its participants, for the abort records. */
    readonly session?: { readonly id: string; readonly parties: readonly PartyId[] },
  ) {
    super(message);
    this.name = 'MpcSessionError';
  }
}

/** Consistent snapshots of the nodes' stores, for backups (node/storage/share-store.ts `snapshot`). */
export interface NodeSnapshots {
  snapshot(nodeId: PartyId): Promise<NodeBackup>;
}

/** The gateway's view of the TSS cluster: health, and MPC sessions driven over the star relay. */
export interface MpcCoordinator {
  health(): Promise<NodeHealth[]>;
  keygen(req: KeygenRequest): Promise<KeygenResult>;
  sign(req: SignRequest): Promise<Uint8Array>;
  /** Sends a client-approved sign-policy change to every holder; each verifies it. Returns the new policy hash. */
  changeSignPolicy(holders: readonly PartyId[], change: PolicyChange): Promise<string>;
  /** Clears each holder's count of unattributed aborts for the key; returns what each had counted. */
  clearAbortCount(holders: readonly PartyId[], keyId: string): Promise<Record<PartyId, number>>;
  /** Asks every holder to erase its share of a destroyed key; one outcome per holder, never throws. */
  destroyShares(holders: readonly PartyId[], keyId: string): Promise<ShareDestruction[]>;
  /**
   * Runs a refresh among all holders; resolves once every holder staged the same new share version
   * (phase one). Nothing is in use until `finishShareVersion` activates it.
   */
  refresh(req: RefreshRequest): Promise<RefreshResult>;
  /** Phase two at one holder: activate (or discard) a staged share version. Idempotent. */
  finishShareVersion(node: PartyId, keyId: string, version: number, activate: boolean): Promise<HolderVersions>;
  close(): Promise<void>;
}

/** One holder's answer to a destruction: its confirmation, or why there is none. */
export type ShareDestruction =
  | { readonly nodeId: PartyId; readonly confirmed: true; readonly hadShare: boolean; readonly destroyedAtMs: number }
  | { readonly nodeId: PartyId; readonly confirmed: false; readonly error: string };
