/**
 * Distributed key generation: the FROST KeyGen of Komlo and Goldberg ("FROST: Flexible
 * Round-Optimized Schnorr Threshold Signatures", SAC 2020, Figure 1), i.e. Pedersen's DKG with
 * Feldman VSS plus a Schnorr proof of knowledge of each dealer's secret, generic over a
 * prime-order group. Used for FROST(Ed25519) and, in G1, for threshold BLS.
 *
 * Round 0 (broadcast): Feldman commitments C_i = (a_i0·G, …, a_i(t-1)·G) and a proof of knowledge
 *   of a_i0 whose challenge binds the session id, suite, holders, threshold, the dealer's index and
 *   all of C_i, so it can be neither replayed into another session nor claimed by another party.
 * Round 1 (point-to-point): f_i(j) to every other holder j; and (broadcast) a hash of the
 *   round-0 transcript this holder saw, so that a dealer who sent different commitments to
 *   different holders makes the DKG abort instead of yielding different keys (echo broadcast,
 *   Goldwasser–Lindell "secure computation without agreement").
 * Finish: echoes must match; each f_j(i) is checked against C_j; s_i = Σ_j f_j(i); group key
 *   Y = Σ_j C_j0; the verification share of holder k is Σ_j Σ_m C_jm·k^m.
 */
import { bytesToHex, equalBytes } from '@noble/curves/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { ByteWriter, decodeAll, DecodeError, encodeTranscript } from '../encoding.ts';
import {
  ProtocolAbort,
  type MpcParty,
  type OutboundMessage,
  type PartyId,
  type AbortVerdict,
  type RoundSpec,
  type SentMessage,
  type SessionContext,
} from '../types.ts';
import {
  baseMultiply,
  decodeElementAs,
  evaluateCommitment,
  evaluatePolynomial,
  type GroupElement,
  type PrimeOrderGroup,
} from './group.ts';
import { blame, checkKeygenContext, onePerSender, partyIndex, RoundCounter } from './session.ts';

const WIRE_VERSION = 1;
const KIND_COMMITMENTS = 1;
const KIND_SHARE = 2;
const KIND_ECHO = 6;

/** What a holder knows after a successful DKG. */
export interface DkgResult<P> {
  /** This holder's 1-based index. */
  readonly index: number;
  /** s_i: this holder's share of the group secret. */
  readonly secretShare: bigint;
  /** Y = s·G. */
  readonly groupKey: P;
  /** s_k·G for every holder k, in holder order. */
  readonly verificationShares: readonly P[];
}

interface DealerCommitment<P> {
  readonly commitments: readonly P[];
  readonly proofR: P;
  readonly proofZ: bigint;
}

/** The domain-separation tag of the proof-of-knowledge challenge. */
export const pokDst = (suite: string): string => `CUSTOS-${suite}-DKG-POK-v1`;

/** c = H(session id, key id, suite, holders, threshold, dealer index, C_i, R). */
export function pokChallenge<P extends GroupElement<P>>(
  group: PrimeOrderGroup<P>,
  suite: string,
  ctx: SessionContext,
  index: number,
  commitments: readonly P[],
  proofR: P,
): bigint {
  const transcript = encodeTranscript([
    ctx.sessionId,
    ctx.keyId,
    suite,
    ctx.holders.join('\n'),
    String(ctx.threshold),
    String(index),
    ...commitments.map((c) => group.encodeElement(c)),
    group.encodeElement(proofR),
  ]);
  return group.hashToScalar(pokDst(suite), transcript);
}

export function encodeCommitmentMessage<P extends GroupElement<P>>(
  group: PrimeOrderGroup<P>,
  msg: DealerCommitment<P>,
): Uint8Array {
  const w = new ByteWriter().u8(WIRE_VERSION).u8(KIND_COMMITMENTS).u16(msg.commitments.length);
  for (const c of msg.commitments) w.bytes(group.encodeElement(c));
  return w.bytes(group.encodeElement(msg.proofR)).bytes(group.encodeScalar(msg.proofZ)).finish();
}

export function decodeCommitmentMessage<P extends GroupElement<P>>(
  group: PrimeOrderGroup<P>,
  payload: Uint8Array,
  threshold: number,
): DealerCommitment<P> {
  return decodeAll(payload, (r) => {
    r.expectU8(WIRE_VERSION, 'wire version');
    r.expectU8(KIND_COMMITMENTS, 'message kind');
    const count = r.u16();
    if (count !== threshold) throw new DecodeError(`expected ${threshold} commitments, got ${count}`);
    const commitments: P[] = [];
    for (let k = 0; k < count; k++) {
      commitments.push(decodeElementAs(group, r.bytes(group.elementLength), `commitment ${k}`));
    }
    const proofR = decodeElementAs(group, r.bytes(group.elementLength), 'proof commitment R');
    const proofZ = group.decodeScalar(r.bytes(group.scalarLength));
    return { commitments, proofR, proofZ };
  });
}

export function encodeShareMessage<P extends GroupElement<P>>(group: PrimeOrderGroup<P>, share: bigint): Uint8Array {
  const scalar = group.encodeScalar(share);
  const out = new ByteWriter().u8(WIRE_VERSION).u8(KIND_SHARE).bytes(scalar).finish();
  scalar.fill(0);
  return out;
}

export function decodeShareMessage<P extends GroupElement<P>>(group: PrimeOrderGroup<P>, payload: Uint8Array): bigint {
  return decodeAll(payload, (r) => {
    r.expectU8(WIRE_VERSION, 'wire version');
    r.expectU8(KIND_SHARE, 'message kind');
    const bytes = r.bytes(group.scalarLength);
    try {
      return group.decodeScalar(bytes);
    } finally {
      bytes.fill(0);
    }
  });
}

/** Checks z·G == R + c·C_0 for the dealer at `index`. */
export function verifyProofOfKnowledge<P extends GroupElement<P>>(
  group: PrimeOrderGroup<P>,
  suite: string,
  ctx: SessionContext,
  index: number,
  msg: DealerCommitment<P>,
): boolean {
  const c = pokChallenge(group, suite, ctx, index, msg.commitments, msg.proofR);
  const lhs = group.generator.multiplyUnsafe(msg.proofZ);
  const rhs = msg.proofR.add(msg.commitments[0]!.multiplyUnsafe(c));
  return lhs.equals(rhs);
}

/** One holder's side of the DKG, as an MpcParty for the node runtime. */
export function createDkgParty<P extends GroupElement<P>>(
  group: PrimeOrderGroup<P>,
  suite: string,
  ctx: SessionContext,
): MpcParty<DkgResult<P>> {
  checkKeygenContext(ctx);
  const rounds: RoundSpec[] = [
    { broadcast: true, p2p: false },
    { broadcast: true, p2p: true },
  ];
  const counter = new RoundCounter(rounds.length);
  const self = partyIndex(ctx.holders, ctx.self);
  const others = ctx.holders.filter((h) => h !== ctx.self);
  const order = group.order;
  let coefficients: bigint[] = [];
  let ownCommitments: P[] = [];
  const dealerCommitments = new Map<PartyId, readonly P[]>();
  let ownRound0: Uint8Array = new Uint8Array();
  let transcriptHash: Uint8Array = new Uint8Array();

  const wipeCoefficients = (): void => {
    // Best effort: bigints are immutable, so this drops our references for the GC.
    coefficients.fill(0n);
    coefficients = [];
  };

  function round0(): OutboundMessage[] {
    coefficients = Array.from({ length: ctx.threshold }, () => group.randomScalar());
    ownCommitments = coefficients.map((a) => group.generator.multiply(a));
    const k = group.randomScalar();
    const proofR = group.generator.multiply(k);
    const c = pokChallenge(group, suite, ctx, self, ownCommitments, proofR);
    const proofZ = (k + coefficients[0]! * c) % order;
    ownRound0 = encodeCommitmentMessage(group, { commitments: ownCommitments, proofR, proofZ });
    return [{ payload: ownRound0 }];
  }

  function round1(payloads: Map<PartyId, Uint8Array>): OutboundMessage[] {
    const seenConstantTerms = new Map<string, PartyId>([
      [bytesToHex(group.encodeElement(ownCommitments[0]!)), ctx.self],
    ]);
    for (const from of others) {
      const msg = blame(from, 'malformed commitments', () =>
        decodeCommitmentMessage(group, payloads.get(from)!, ctx.threshold),
      );
      if (!verifyProofOfKnowledge(group, suite, ctx, partyIndex(ctx.holders, from), msg)) {
        throw new ProtocolAbort(from, 'invalid proof of knowledge of the secret coefficient');
      }
      const key = bytesToHex(group.encodeElement(msg.commitments[0]!));
      const earlier = seenConstantTerms.get(key);
      if (earlier !== undefined) throw new ProtocolAbort(from, `commitment duplicates the one of ${earlier}`);
      seenConstantTerms.set(key, from);
      dealerCommitments.set(from, msg.commitments);
    }
    const round0 = ctx.holders.map((h) => (h === ctx.self ? ownRound0 : payloads.get(h)!));
    transcriptHash = sha256(encodeTranscript([ctx.sessionId, ctx.keyId, ...round0]));
    const shares = others.map((to) => ({
      to,
      payload: encodeShareMessage(group, evaluatePolynomial(coefficients, BigInt(partyIndex(ctx.holders, to)), order)),
    }));
    return [...shares, { payload: new ByteWriter().u8(WIRE_VERSION).u8(KIND_ECHO).bytes(transcriptHash).finish() }];
  }

  function checkEchoes(echoes: Map<PartyId, Uint8Array>): void {
    for (const from of others) {
      const echo = blame(from, 'malformed echo', () =>
        decodeAll(echoes.get(from)!, (r) => {
          r.expectU8(WIRE_VERSION, 'wire version');
          r.expectU8(KIND_ECHO, 'message kind');
          return r.bytes(32);
        }),
      );
      if (!equalBytes(echo, transcriptHash)) {
        // A dealer equivocated, or `from` misreports what it saw; the hashes cannot tell which.
        throw new ProtocolAbort(undefined, `round-0 broadcasts were seen differently by ${from} and ${ctx.self}`);
      }
    }
  }

  function finish(payloads: Map<PartyId, Uint8Array>): DkgResult<P> {
    const x = BigInt(self);
    let secretShare = evaluatePolynomial(coefficients, x, order);
    wipeCoefficients();
    for (const from of others) {
      const share = blame(from, 'malformed share', () => decodeShareMessage(group, payloads.get(from)!));
      if (!baseMultiply(group, share).equals(evaluateCommitment(group, dealerCommitments.get(from)!, x))) {
        throw new ProtocolAbort(from, 'secret share does not match its sender’s commitments');
      }
      secretShare = (secretShare + share) % order;
    }

    const merged = ownCommitments.map((own, k) =>
      others.reduce((acc, from) => acc.add(dealerCommitments.get(from)![k]!), own),
    );
    const groupKey = merged[0]!;
    if (groupKey.is0()) throw new ProtocolAbort(undefined, 'group key is the identity');
    const verificationShares = ctx.holders.map((_, i) => evaluateCommitment(group, merged, BigInt(i + 1)));
    return { index: self, secretShare, groupKey, verificationShares };
  }

  return {
    rounds,
    round(r, inbound) {
      counter.enter(r);
      try {
        if (r === 0) {
          if (inbound.length > 0) throw new ProtocolAbort(inbound[0]!.from, 'unexpected message before round 0');
          return round0();
        }
        return round1(onePerSender(inbound, others, true));
      } catch (e) {
        wipeCoefficients();
        throw e;
      }
    },
    finish(inbound) {
      counter.finish();
      try {
        checkEchoes(
          onePerSender(
            inbound.filter((m) => m.broadcast),
            others,
            true,
          ),
        );
        return finish(
          onePerSender(
            inbound.filter((m) => !m.broadcast),
            others,
            false,
          ),
        );
      } finally {
        wipeCoefficients();
        // The received shares are secret; nothing needs them once the session ends.
        for (const m of inbound) if (!m.broadcast) m.payload.fill(0);
      }
    },
  };
}

/**
 * Re-runs, on public data, every DKG check that names a dealer: its commitments decode, its proof
 * of knowledge verifies, its constant term duplicates no other dealer's, its share to the accuser
 * decodes and matches its commitments, and its echo decodes. The share comes from the accuser's
 * revealed decryption of that one point-to-point message (docs/security.md, "Identifiable abort").
 */
export function judgeDkg<P extends GroupElement<P>>(
  group: PrimeOrderGroup<P>,
  suite: string,
  ctx: SessionContext,
  accused: PartyId,
  accuser: PartyId,
  messages: readonly SentMessage[],
): AbortVerdict {
  if (!ctx.holders.includes(accused) || !ctx.holders.includes(accuser) || accused === accuser) return undefined;
  const commitmentsOf = messages.filter((m) => m.round === 0 && m.to === undefined);
  const own = commitmentsOf.find((m) => m.from === accused);
  if (!own) return undefined;
  const guilty = (reason: string): AbortVerdict => ({ guilty: true, reason });
  let msg: DealerCommitment<P>;
  try {
    msg = decodeCommitmentMessage(group, own.payload, ctx.threshold);
  } catch (e) {
    return guilty(`malformed commitments: ${(e as Error).message}`);
  }
  if (!verifyProofOfKnowledge(group, suite, ctx, partyIndex(ctx.holders, accused), msg)) {
    return guilty('invalid proof of knowledge of the secret coefficient');
  }
  for (const other of commitmentsOf) {
    if (other.from === accused) continue;
    try {
      const theirs = decodeCommitmentMessage(group, other.payload, ctx.threshold);
      if (theirs.commitments[0]!.equals(msg.commitments[0]!))
        return guilty(`commitment duplicates the one of ${other.from}`);
    } catch {
      // Another dealer's malformed message says nothing about the accused.
    }
  }
  const share = messages.find((m) => m.round === 1 && m.from === accused && m.to === accuser);
  if (share) {
    let value: bigint;
    try {
      value = decodeShareMessage(group, share.payload);
    } catch (e) {
      return guilty(`malformed share: ${(e as Error).message}`);
    }
    const x = BigInt(partyIndex(ctx.holders, accuser));
    if (!baseMultiply(group, value).equals(evaluateCommitment(group, msg.commitments, x))) {
      return guilty('secret share does not match its sender’s commitments');
    }
  }
  const echo = messages.find((m) => m.round === 1 && m.from === accused && m.to === undefined);
  if (echo) {
    try {
      decodeAll(echo.payload, (r) => {
        r.expectU8(WIRE_VERSION, 'wire version');
        r.expectU8(KIND_ECHO, 'message kind');
        return r.bytes(32);
      });
    } catch (e) {
      return guilty(`malformed echo: ${(e as Error).message}`);
    }
  }
  // Every check passed. An honest accuser includes all it received, so nothing is missing that failed.
  return { guilty: false, reason: `the messages of ${accused} pass every DKG check` };
}
