/**
 * Distributed key generation on secp256k1: Feldman VSS per party (Pedersen's DKG) with a hash
 * commitment to the coefficients first, so that no party chooses its polynomial after seeing the
 * others' (rushing), and a Schnorr proof of knowledge of each constant term bound to the session
 * and prover (so a contribution cannot be copied from another party or session).
 *
 *   round 0 (broadcast): H(tag, i, opening, C_i)        — commitment to the Feldman coefficients
 *   round 1 (broadcast): opening, C_i, PoK(a_i0), echo of every round 0 broadcast
 *           (p2p):       f_i(j) to each j
 *   finish:              check echo, openings, proofs and shares (each failure names its sender);
 *                        x_j = Σ f_i(j), X_k = Σ_i C_i(k), pk = Σ C_i0.
 *
 * Pure functions; a protocol embeds these parts in its own round messages.
 */
import { ByteWriter, decodeAll, type ByteReader } from '../encoding.ts';
import { proveDlog, verifyDlog, type DlogProof } from '../../crypto/zk/schnorr.ts';
import { ProtocolAbort, type PartyId, type SessionContext } from '../types.ts';
import { readList, readPoint, readScalar, writeList, writePoint, writeScalar } from './codec.ts';
import { checkEcho, commit, echoDigests, proofBinding, sessionTag, verifyCommitment } from './commitment.ts';
import { parseFrom, partyIndex } from './parties.ts';
import { evaluateCommitment, evaluatePolynomial, feldmanCommit, randomPolynomial } from './shamir.ts';
import { modq, randomScalar, sameBytes, type Point } from './scalars.ts';

export interface DkgState {
  readonly ctx: SessionContext;
  readonly tag: string;
  readonly polynomial: bigint[];
  readonly coefficients: readonly Point[];
  readonly commitment: Uint8Array;
  readonly opening: Uint8Array;
}

export interface DkgReveal {
  readonly opening: Uint8Array;
  readonly coefficients: readonly Point[];
  readonly proof: DlogProof;
  readonly echo: readonly Uint8Array[];
}

export interface DkgResult {
  /** This party's share x_self = F(index(self)). */
  readonly share: bigint;
  readonly publicKey: Point;
  /** X_k = x_k·G for every holder, in holder order. */
  readonly verificationShares: readonly Point[];
}

/** Checks that ctx describes a DKG among all holders. */
export function checkDkgContext(protocol: string, ctx: SessionContext): void {
  const n = ctx.holders.length;
  if (!Number.isInteger(ctx.threshold) || ctx.threshold < 2 || ctx.threshold > n) {
    throw new Error(`${protocol} needs 1 < threshold <= holders (got ${ctx.threshold} of ${n})`);
  }
  if (new Set(ctx.holders).size !== n || ctx.parties.join() !== ctx.holders.join()) {
    throw new Error(`${protocol} keygen runs among all holders, each once`);
  }
  if (!ctx.holders.includes(ctx.self)) throw new Error(`${ctx.self} is not a holder`);
}

const encodeCommitmentValues = (coefficients: readonly Point[]): Uint8Array[] =>
  coefficients.map((c) => c.toBytes(true));

export function startDkg(protocol: string, ctx: SessionContext): DkgState {
  const tag = sessionTag(protocol + '/dkg', ctx);
  const polynomial = randomPolynomial(randomScalar(), ctx.threshold - 1);
  const coefficients = feldmanCommit(polynomial);
  const { commitment, opening } = commit(tag, ctx.self, encodeCommitmentValues(coefficients));
  return { ctx, tag, polynomial, coefficients, commitment, opening };
}

/** Round 1: the opening, proof and echo (broadcast) and one share per other party (p2p). */
export function dkgReveal(
  state: DkgState,
  commitments: ReadonlyMap<PartyId, Uint8Array>,
): { reveal: DkgReveal; shares: Map<PartyId, bigint> } {
  const { ctx } = state;
  const X = state.coefficients[0]!;
  const proof = proveDlog(state.polynomial[0]!, X, proofBinding('dkg-pok', ctx, ctx.self));
  const echo = echoDigests(ctx.parties, (p) => (p === ctx.self ? state.commitment : commitments.get(p)!));
  const shares = new Map<PartyId, bigint>();
  for (const p of ctx.parties) {
    if (p !== ctx.self) shares.set(p, evaluatePolynomial(state.polynomial, partyIndex(ctx.holders, p)));
  }
  return { reveal: { opening: state.opening, coefficients: state.coefficients, proof, echo }, shares };
}

/**
 * Checks every other party's reveal against its round 0 commitment and its share against the
 * reveal, naming the first party whose message fails; then combines.
 */
export function finishDkg(
  state: DkgState,
  commitments: ReadonlyMap<PartyId, Uint8Array>,
  reveals: ReadonlyMap<PartyId, DkgReveal>,
  shares: ReadonlyMap<PartyId, bigint>,
): DkgResult {
  const { ctx } = state;
  const myEcho = echoDigests(ctx.parties, (p) => (p === ctx.self ? state.commitment : commitments.get(p)!));
  const myIndex = partyIndex(ctx.holders, ctx.self);
  const all = new Map<PartyId, readonly Point[]>([[ctx.self, state.coefficients]]);
  for (const j of ctx.parties) {
    if (j === ctx.self) continue;
    const reveal = reveals.get(j)!;
    checkEcho(ctx.self, ctx.parties, j, reveal.echo, myEcho);
    if (reveal.coefficients.length !== ctx.threshold) {
      throw new ProtocolAbort(
        j,
        `Feldman commitment has ${reveal.coefficients.length} coefficients, expected ${ctx.threshold}`,
      );
    }
    if (
      !verifyCommitment(state.tag, j, commitments.get(j)!, reveal.opening, encodeCommitmentValues(reveal.coefficients))
    ) {
      throw new ProtocolAbort(j, 'Feldman coefficients do not open the round 0 commitment');
    }
    if (!verifyDlog(reveal.coefficients[0]!, reveal.proof, proofBinding('dkg-pok', ctx, j))) {
      throw new ProtocolAbort(j, 'proof of knowledge of the constant term does not verify');
    }
    const share = shares.get(j)!;
    if (share === 0n || !evaluateCommitment(reveal.coefficients, myIndex).equals(baseMulChecked(share))) {
      throw new ProtocolAbort(j, 'share is not consistent with its Feldman commitment');
    }
    all.set(j, reveal.coefficients);
  }
  let share = evaluatePolynomial(state.polynomial, myIndex);
  for (const [j, s] of shares) if (j !== ctx.self) share = modq(share + s);
  const sumCoefficients = Array.from({ length: ctx.threshold }, (_, k) =>
    ctx.parties.map((p) => all.get(p)![k]!).reduce((a, b) => a.add(b)),
  );
  const publicKey = sumCoefficients[0]!;
  if (publicKey.is0()) throw new ProtocolAbort(undefined, 'the group public key is the identity');
  const verificationShares = ctx.holders.map((h) => evaluateCommitment(sumCoefficients, partyIndex(ctx.holders, h)));
  return { share, publicKey, verificationShares };
}

function baseMulChecked(s: bigint): Point {
  return feldmanCommit([s])[0]!;
}

export function writeReveal(w: ByteWriter, reveal: DkgReveal): void {
  w.bytes(reveal.opening);
  writeList(w, reveal.coefficients, writePoint);
  writePoint(w, reveal.proof.A);
  writeScalar(w, reveal.proof.z);
  writeList(w, reveal.echo, (w2, e) => w2.bytes(e));
}

export function readReveal(r: ByteReader): DkgReveal {
  const opening = r.bytes(32);
  const coefficients = readList(r, 64, readPoint);
  const proof = { A: readPoint(r), z: readScalar(r) };
  const echo = readList(r, 64, (r2) => r2.bytes(32));
  return { opening, coefficients, proof, echo };
}

export function encodeReveal(reveal: DkgReveal): Uint8Array {
  const w = new ByteWriter();
  writeReveal(w, reveal);
  return w.finish();
}

export function decodeReveal(from: PartyId, bytes: Uint8Array): DkgReveal {
  return parseFrom(from, 'DKG reveal', () => decodeAll(bytes, readReveal));
}

/**
 * Re-runs on public data the DKG checks that name `accused`: its reveal decodes, opens its round 0
 * commitment, has t coefficients and a valid proof of knowledge; its echo matches the signed
 * broadcasts of itself and of `accuser`; its share to `accuser` (when given) matches its
 * coefficients. Returns the reason it is guilty, or undefined when these checks pass.
 */
export function dkgGuilt(
  protocol: string,
  ctx: SessionContext,
  accused: PartyId,
  accuser: PartyId,
  broadcasts: { round0: ReadonlyMap<PartyId, Uint8Array>; reveal: Uint8Array },
  share: bigint | undefined,
): string | undefined {
  const tag = sessionTag(protocol + '/dkg', ctx);
  const commitment = broadcasts.round0.get(accused);
  if (!commitment) return undefined;
  let reveal: DkgReveal;
  try {
    reveal = decodeAll(broadcasts.reveal, readReveal);
  } catch (e) {
    return `malformed DKG reveal: ${(e as Error).message}`;
  }
  if (reveal.coefficients.length !== ctx.threshold) return 'wrong number of Feldman coefficients';
  if (!verifyCommitment(tag, accused, commitment, reveal.opening, encodeCommitmentValues(reveal.coefficients))) {
    return 'Feldman coefficients do not open the round 0 commitment';
  }
  if (!verifyDlog(reveal.coefficients[0]!, reveal.proof, proofBinding('dkg-pok', ctx, accused))) {
    return 'proof of knowledge of the constant term does not verify';
  }
  if (reveal.echo.length !== ctx.parties.length) return 'malformed echo';
  for (const k of [accused, accuser]) {
    const signed = broadcasts.round0.get(k);
    const echoed = reveal.echo[ctx.parties.indexOf(k)]!;
    if (signed && !sameBytes(echoDigests([k], () => signed)[0]!, echoed)) return `echo misreports ${k}'s broadcast`;
  }
  if (share !== undefined) {
    const x = partyIndex(ctx.holders, accuser);
    if (share === 0n || !evaluateCommitment(reveal.coefficients, x).equals(baseMulChecked(share))) {
      return 'share is not consistent with its Feldman commitment';
    }
  }
  return undefined;
}
