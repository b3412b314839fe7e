/**
 * Session-bound hashing: hash commitments (random-oracle commitments with a 32-byte opening),
 * proof bindings, and the echo that makes every party agree on what everybody broadcast.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from 'node:crypto';
import { encodeTranscript } from '../encoding.ts';
import type { ProofBinding } from '../../crypto/zk/transcript.ts';
import { ProtocolAbort, type PartyId, type SessionContext } from '../types.ts';
import { sameBytes } from './scalars.ts';

/** Everything a session is bound to: protocol, session, key, threshold, holders and parties. */
export function sessionTag(protocol: string, ctx: SessionContext): string {
  return [
    protocol,
    `sid=${ctx.sessionId}`,
    `key=${ctx.keyId}`,
    `t=${ctx.threshold}`,
    `holders=${ctx.holders.join(',')}`,
    `parties=${ctx.parties.join(',')}`,
  ].join('|');
}

/** A Fiat–Shamir binding for a proof by `prover` (to `verifier`, if only one party checks it). */
export function proofBinding(protocol: string, ctx: SessionContext, prover: PartyId, verifier?: PartyId): ProofBinding {
  return {
    sessionId: sessionTag(protocol, ctx),
    prover,
    ...(verifier === undefined ? {} : { verifier }),
    parties: ctx.parties,
  };
}

/** SHA-256 of a domain-separated, length-prefixed transcript. */
export function taggedHash(domain: string, parts: readonly (Uint8Array | string)[]): Uint8Array {
  return sha256(encodeTranscript(['custos/' + domain, ...parts]));
}

/** H(tag, owner, opening, values): binds the commitment to its session and owner. */
export function commitmentOf(
  tag: string,
  owner: PartyId,
  opening: Uint8Array,
  values: readonly Uint8Array[],
): Uint8Array {
  return taggedHash('commit', [tag, owner, opening, ...values]);
}

/** Commits `owner` to `values`; the opening is revealed later with the values. */
export function commit(
  tag: string,
  owner: PartyId,
  values: readonly Uint8Array[],
): { commitment: Uint8Array; opening: Uint8Array } {
  const opening = Uint8Array.from(randomBytes(32));
  return { commitment: commitmentOf(tag, owner, opening, values), opening };
}

export function verifyCommitment(
  tag: string,
  owner: PartyId,
  commitment: Uint8Array,
  opening: Uint8Array,
  values: readonly Uint8Array[],
): boolean {
  return opening.length === 32 && sameBytes(commitment, commitmentOf(tag, owner, opening, values));
}

/** One digest per party (in `parties` order) of the broadcast this party received from it. */
export function echoDigests(parties: readonly PartyId[], broadcastOf: (p: PartyId) => Uint8Array): Uint8Array[] {
  return parties.map((p) => sha256(broadcastOf(p)));
}

/**
 * Compares j's echo with this party's own. Broadcasts are signed by their sender, so a mismatch
 * about j's own broadcast or this party's is j's fault (j equivocated, or misreports what this
 * party sent); about a third party k's, either k equivocated or j misreports, and nobody can be
 * named.
 */
export function checkEcho(
  self: PartyId,
  parties: readonly PartyId[],
  j: PartyId,
  theirs: readonly Uint8Array[],
  mine: readonly Uint8Array[],
): void {
  if (theirs.length !== parties.length || mine.length !== parties.length) throw new ProtocolAbort(j, 'malformed echo');
  parties.forEach((k, i) => {
    if (sameBytes(theirs[i]!, mine[i]!)) return;
    const culprit = k === j || k === self ? j : undefined;
    throw new ProtocolAbort(culprit, `${j} and ${self} saw different broadcasts from ${k}`);
  });
}
