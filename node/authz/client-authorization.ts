/**
 * A holder node's own check that a client allowed this signature (docs/security.md, "Client
 * authorisation"): pure functions over the key's stored sign policy, plus the node's replay cache
 * of client nonces. The gateway's word counts for nothing here.
 */
import {
  AUTHORIZATION_WINDOW_MS,
  authorizationStatement,
  messageSha256,
  policyChangeStatement,
  type PolicyChange,
  type SignAuthorization,
  type SignPolicy,
  verifyStatement,
} from '../../common/authz/client-keys.ts';

export class AuthorizationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthorizationError';
  }
}

/**
 * Checks a client authorisation against the key's policy and the exact bytes to sign. A key
 * whose policy names no signers trusts the gateway (HMAC access keys) and needs none.
 */
export function checkSignAuthorization(input: {
  policy: SignPolicy;
  keyId: string;
  message: Uint8Array;
  authorization: SignAuthorization | undefined;
  nowMs: number;
  /** Authorisations older than this are refused (the node's start: its replay cache is empty before). */
  notBeforeMs: number;
}): void {
  const { policy, authorization: a } = input;
  if (policy.signers.length === 0) return;
  if (!a) throw new AuthorizationError(`key ${input.keyId} signs only with a client authorisation, and none was sent`);
  if (a.key_id !== input.keyId)
    throw new AuthorizationError(`the client authorisation is for ${a.key_id}, not ${input.keyId}`);
  const signer = policy.signers.find((s) => s.access_key === a.access_key);
  if (!signer) throw new AuthorizationError(`access key ${a.access_key} may not sign with ${input.keyId}`);
  if (!verifyStatement(signer, authorizationStatement(a), a.signature)) {
    throw new AuthorizationError(`the client authorisation of ${a.access_key} does not verify`);
  }
  if (a.message_sha256 !== messageSha256(input.message)) {
    throw new AuthorizationError(`${a.access_key} did not authorise this message`);
  }
  if (Math.abs(input.nowMs - a.timestamp_ms) > AUTHORIZATION_WINDOW_MS) {
    throw new AuthorizationError(
      `the client authorisation is more than ${AUTHORIZATION_WINDOW_MS / 1000} s old or ahead`,
    );
  }
  if (a.timestamp_ms < input.notBeforeMs) {
    throw new AuthorizationError('the client authorisation predates this node process; sign a fresh one');
  }
}

/**
 * Client nonces this node has seen inside the authorisation window. Entries older than the window
 * can go: their timestamps are refused anyway.
 */
export class NonceReplayCache {
  private readonly seen = new Map<string, number>();

  constructor(private readonly maxEntries = 200_000) {}

  /** Records the nonce; false when it was used before (a replay). */
  claim(accessKey: string, nonce: string, timestampMs: number, nowMs: number): boolean {
    this.expire(nowMs);
    const id = `${accessKey}\n${nonce}`;
    if (this.seen.has(id)) return false;
    if (this.seen.size >= this.maxEntries) throw new AuthorizationError('client nonce cache is full; retry later');
    this.seen.set(id, Math.max(timestampMs, nowMs) + AUTHORIZATION_WINDOW_MS);
    return true;
  }

  private expire(nowMs: number): void {
    for (const [id, until] of this.seen) if (until < nowMs) this.seen.delete(id);
  }
}

/**
 * Accepts a policy change when it moves to exactly the next version and at least
 * `change_quorum` distinct signers of the current policy approved it. A key that trusts the
 * gateway has nobody who could approve, so its policy stays as keygen fixed it.
 */
export function checkPolicyChange(current: SignPolicy, change: PolicyChange): void {
  if (current.signers.length === 0) {
    throw new AuthorizationError(`key ${change.key_id} trusts the gateway: its policy was fixed at keygen`);
  }
  if (change.policy.version !== current.version + 1) {
    throw new AuthorizationError(
      `policy version ${change.policy.version} does not follow the current version ${current.version}`,
    );
  }
  if (change.policy.signers.length === 0) {
    throw new AuthorizationError('a policy change may not hand signing back to the gateway');
  }
  const statement = policyChangeStatement(change.key_id, change.policy);
  const approvers = new Set<string>();
  for (const approval of change.approvals) {
    const signer = current.signers.find((s) => s.access_key === approval.access_key);
    if (!signer) throw new AuthorizationError(`${approval.access_key} is not a current signer of ${change.key_id}`);
    if (!verifyStatement(signer, statement, approval.signature)) {
      throw new AuthorizationError(`the approval of ${approval.access_key} does not verify`);
    }
    approvers.add(approval.access_key);
  }
  if (approvers.size < current.change_quorum) {
    throw new AuthorizationError(
      `${approvers.size} distinct approvals, the current policy needs ${current.change_quorum}`,
    );
  }
}
