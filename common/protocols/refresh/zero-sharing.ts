/**
 * Proactive share refresh by a joint sharing of zero (Herzberg, Jarecki, Krawczyk, Yung,
 * "Proactive Secret Sharing, Or: How to Cope With Perpetual Leakage", CRYPTO 1995, §3.2), with
 * Feldman commitments, over any prime-order group (frost/group.ts).
 *
 * Every holder i deals g_i(x) = a_i1·x + … + a_i(t-1)·x^(t-1): a degree-(t-1) polynomial whose
 * constant term is zero by construction (it is not committed, so it cannot be anything else).
 * Holder j's new share is s_j + Σ_i g_i(j): the group secret Σ λ_j·s'_j is unchanged, while any
 * mix of fewer than t new shares with old ones interpolates to noise.
 *
 * Round 0 (broadcast): commitments C_i = (a_i1·G … a_i(t-1)·G) and a Schnorr proof of knowledge of
 *   a_i1 whose challenge binds the session, key, suite, holders, threshold, dealer index, the
 *   digest of the key's current public state and all of C_i.
 * Round 1 (point-to-point): g_i(j); (broadcast) SHA-256 of the session, key, state digest and the
 *   round-0 transcript, so a dealer that equivocates makes the refresh abort (as in the DKG).
 * Finish: echoes match; g_j(i)·G == Σ_m C_jm·i^m for every dealer j; outputs this holder's delta
 *   and the public deltas Σ_j g_j(k)·G of every holder's verification share.
 */
import { bytesToHex, equalBytes } from '@noble/curves/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { ByteWriter, decodeAll, DecodeError, encodeTranscript } from '../encoding.ts';
import {
  ProtocolAbort,
  type MpcParty,
  type OutboundMessage,
  type PartyId,
  type RoundSpec,
  type SessionContext,
} from '../types.ts';
import {
  baseMultiply,
  decodeElementAs,
  evaluateCommitment,
  evaluatePolynomial,
  type GroupElement,
  type PrimeOrderGroup,
} from '../frost/group.ts';
import { blame, checkKeygenContext, onePerSender, partyIndex, RoundCounter } from '../frost/session.ts';

const WIRE_VERSION = 1;
const KIND_ZERO_COMMITMENTS = 9;
const KIND_ZERO_SHARE = 10;
const KIND_ZERO_ECHO = 11;

export const ZERO_SHARING_ROUNDS: readonly RoundSpec[] = [
  { broadcast: true, p2p: false },
  { broadcast: true, p2p: true },
];

/** What a holder learns from a zero-sharing. */
export interface ZeroSharingResult<P> {
  /** This holder's 1-based index. */
  readonly index: number;
  /** Σ_j g_j(index): add to the old share. */
  readonly delta: bigint;
  /** Σ_j g_j(k)·G for every holder k in holder order: add to the old verification shares. */
  readonly publicDeltas: readonly P[];
}

export interface ZeroDeal<P> {
  readonly commitments: readonly P[];
  readonly proofR: P;
  readonly proofZ: bigint;
}

export const zeroSharingDst = (suite: string): string => `CUSTOS-${suite}-REFRESH-POK-v1`;

/** c = H(session, key, suite, holders, t, dealer index, state digest, C_i, R). */
export function zeroSharingChallenge<P extends GroupElement<P>>(
  group: PrimeOrderGroup<P>,
  suite: string,
  ctx: SessionContext,
  stateDigest: Uint8Array,
  index: number,
  commitments: readonly P[],
  proofR: P,
): bigint {
  const transcript = encodeTranscript([
    ctx.sessionId,
    ctx.keyId,
    suite,
    'refresh',
    ctx.holders.join('\n'),
    String(ctx.threshold),
    String(index),
    stateDigest,
    ...commitments.map((c) => group.encodeElement(c)),
    group.encodeElement(proofR),
  ]);
  return group.hashToScalar(zeroSharingDst(suite), transcript);
}

export function encodeZeroDeal<P extends GroupElement<P>>(group: PrimeOrderGroup<P>, deal: ZeroDeal<P>): Uint8Array {
  const w = new ByteWriter().u8(WIRE_VERSION).u8(KIND_ZERO_COMMITMENTS).u16(deal.commitments.length);
  for (const c of deal.commitments) w.bytes(group.encodeElement(c));
  return w.bytes(group.encodeElement(deal.proofR)).bytes(group.encodeScalar(deal.proofZ)).finish();
}

/** Strict: exactly t-1 canonical, non-identity commitments, then R and z. */
export function decodeZeroDeal<P extends GroupElement<P>>(
  group: PrimeOrderGroup<P>,
  payload: Uint8Array,
  threshold: number,
): ZeroDeal<P> {
  return decodeAll(payload, (r) => {
    r.expectU8(WIRE_VERSION, 'wire version');
    r.expectU8(KIND_ZERO_COMMITMENTS, 'message kind');
    const count = r.u16();
    if (count !== threshold - 1) throw new DecodeError(`expected ${threshold - 1} commitments, got ${count}`);
    const commitments = Array.from({ length: count }, (_, k) =>
      decodeElementAs(group, r.bytes(group.elementLength), `commitment ${k + 1}`),
    );
    const proofR = decodeElementAs(group, r.bytes(group.elementLength), 'proof commitment R');
    const proofZ = group.decodeScalar(r.bytes(group.scalarLength));
    return { commitments, proofR, proofZ };
  });
}

export function encodeZeroShare<P extends GroupElement<P>>(group: PrimeOrderGroup<P>, value: bigint): Uint8Array {
  const scalar = group.encodeScalar(value);
  const out = new ByteWriter().u8(WIRE_VERSION).u8(KIND_ZERO_SHARE).bytes(scalar).finish();
  scalar.fill(0);
  return out;
}

export function decodeZeroShare<P extends GroupElement<P>>(group: PrimeOrderGroup<P>, payload: Uint8Array): bigint {
  return decodeAll(payload, (r) => {
    r.expectU8(WIRE_VERSION, 'wire version');
    r.expectU8(KIND_ZERO_SHARE, 'message kind');
    const bytes = r.bytes(group.scalarLength);
    try {
      return group.decodeScalar(bytes);
    } finally {
      bytes.fill(0);
    }
  });
}

function decodeEcho(payload: Uint8Array): Uint8Array {
  return decodeAll(payload, (r) => {
    r.expectU8(WIRE_VERSION, 'wire version');
    r.expectU8(KIND_ZERO_ECHO, 'message kind');
    return r.bytes(32);
  });
}

/** The image g(x)·G of a zero-constant polynomial committed as (C_1 … C_(t-1)). */
export function evaluateZeroCommitment<P extends GroupElement<P>>(
  group: PrimeOrderGroup<P>,
  commitments: readonly P[],
  x: bigint,
): P {
  return evaluateCommitment(group, [group.identity, ...commitments], x);
}

export function verifyZeroDealProof<P extends GroupElement<P>>(
  group: PrimeOrderGroup<P>,
  suite: string,
  ctx: SessionContext,
  stateDigest: Uint8Array,
  index: number,
  deal: ZeroDeal<P>,
): boolean {
  const c = zeroSharingChallenge(group, suite, ctx, stateDigest, index, deal.commitments, deal.proofR);
  return group.generator.multiplyUnsafe(deal.proofZ).equals(deal.proofR.add(deal.commitments[0]!.multiplyUnsafe(c)));
}

/**
 * One holder's side of the zero-sharing. `stateDigest` names the key state being refreshed (a hash
 * of its current public data), so holders that disagree on it cannot finish.
 */
export function createZeroSharingParty<P extends GroupElement<P>>(
  group: PrimeOrderGroup<P>,
  suite: string,
  ctx: SessionContext,
  stateDigest: Uint8Array,
): MpcParty<ZeroSharingResult<P>> {
  checkKeygenContext(ctx);
  const counter = new RoundCounter(ZERO_SHARING_ROUNDS.length);
  const self = partyIndex(ctx.holders, ctx.self);
  const others = ctx.holders.filter((h) => h !== ctx.self);
  const order = group.order;
  // coefficients[0] is the constant term: zero, never sent or committed.
  let coefficients: bigint[] = [];
  let ownCommitments: P[] = [];
  let ownRound0: Uint8Array = new Uint8Array();
  let transcriptHash: Uint8Array = new Uint8Array();
  const deals = new Map<PartyId, readonly P[]>();

  const wipe = (): void => {
    coefficients.fill(0n);
    coefficients = [];
  };

  function round0(): OutboundMessage[] {
    coefficients = [0n, ...Array.from({ length: ctx.threshold - 1 }, () => group.randomScalar())];
    ownCommitments = coefficients.slice(1).map((a) => group.generator.multiply(a));
    const k = group.randomScalar();
    const proofR = group.generator.multiply(k);
    const c = zeroSharingChallenge(group, suite, ctx, stateDigest, self, ownCommitments, proofR);
    const proofZ = (k + coefficients[1]! * c) % order;
    ownRound0 = encodeZeroDeal(group, { commitments: ownCommitments, proofR, proofZ });
    return [{ payload: ownRound0 }];
  }

  function round1(payloads: Map<PartyId, Uint8Array>): OutboundMessage[] {
    const seen = new Map<string, PartyId>([[bytesToHex(group.encodeElement(ownCommitments[0]!)), ctx.self]]);
    for (const from of others) {
      const deal = blame(from, 'malformed refresh commitments', () =>
        decodeZeroDeal(group, payloads.get(from)!, ctx.threshold),
      );
      if (!verifyZeroDealProof(group, suite, ctx, stateDigest, partyIndex(ctx.holders, from), deal)) {
        throw new ProtocolAbort(from, 'invalid proof of knowledge in the refresh deal');
      }
      // A copied deal adds no randomness of its own.
      const key = bytesToHex(group.encodeElement(deal.commitments[0]!));
      const earlier = seen.get(key);
      if (earlier !== undefined) throw new ProtocolAbort(from, `refresh deal duplicates the one of ${earlier}`);
      seen.set(key, from);
      deals.set(from, deal.commitments);
    }
    const round0 = ctx.holders.map((h) => (h === ctx.self ? ownRound0 : payloads.get(h)!));
    transcriptHash = sha256(encodeTranscript([ctx.sessionId, ctx.keyId, suite, stateDigest, ...round0]));
    const shares = others.map((to) => ({
      to,
      payload: encodeZeroShare(group, evaluatePolynomial(coefficients, BigInt(partyIndex(ctx.holders, to)), order)),
    }));
    return [
      ...shares,
      { payload: new ByteWriter().u8(WIRE_VERSION).u8(KIND_ZERO_ECHO).bytes(transcriptHash).finish() },
    ];
  }

  function finish(echoes: Map<PartyId, Uint8Array>, shares: Map<PartyId, Uint8Array>): ZeroSharingResult<P> {
    for (const from of others) {
      const echo = blame(from, 'malformed refresh echo', () => decodeEcho(echoes.get(from)!));
      if (!equalBytes(echo, transcriptHash)) {
        throw new ProtocolAbort(undefined, `refresh deals were seen differently by ${from} and ${ctx.self}`);
      }
    }
    const x = BigInt(self);
    let delta = evaluatePolynomial(coefficients, x, order);
    wipe();
    for (const from of others) {
      const share = blame(from, 'malformed refresh share', () => decodeZeroShare(group, shares.get(from)!));
      if (!baseMultiply(group, share).equals(evaluateZeroCommitment(group, deals.get(from)!, x))) {
        throw new ProtocolAbort(from, 'refresh share does not match its sender’s commitments');
      }
      delta = (delta + share) % order;
    }
    const merged = ownCommitments.map((own, m) => others.reduce((acc, j) => acc.add(deals.get(j)![m]!), own));
    const publicDeltas = ctx.holders.map((_, k) => evaluateZeroCommitment(group, merged, BigInt(k + 1)));
    return { index: self, delta, publicDeltas };
  }

  return {
    rounds: ZERO_SHARING_ROUNDS,
    round(r, inbound) {
      counter.enter(r);
      try {
        if (r === 0) {
          if (inbound.length > 0) throw new ProtocolAbort(inbound[0]!.from, 'unexpected message before round 0');
          return round0();
        }
        return round1(onePerSender(inbound, others, true));
      } catch (e) {
        wipe();
        throw e;
      }
    },
    finish(inbound) {
      counter.finish();
      try {
        return finish(
          onePerSender(
            inbound.filter((m) => m.broadcast),
            others,
            true,
          ),
          onePerSender(
            inbound.filter((m) => !m.broadcast),
            others,
            false,
          ),
        );
      } finally {
        wipe();
        for (const m of inbound) if (!m.broadcast) m.payload.fill(0);
      }
    },
  };
}
