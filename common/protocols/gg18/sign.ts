/**
 * GG18 signing (Gennaro–Goldfeder, ePrint 2019/114, §4.2, phases 1–6) among the signers in
 * ctx.parties, each using its Lagrange-weighted share w_i = λ_i·x_i.
 *
 *   round 0 phase 1: commit to Γ_i = γ_i·G; broadcast c_i = Enc_i(k_i); p2p Alice's range proof.
 *   round 1 phase 2: MtA on (k_j, γ_i) and MtAwc on (k_j, w_i), each with Bob's range proof.
 *   round 2 phase 3: broadcast δ_i = k_i·γ_i + Σ(α + β).
 *   round 3 phase 4: open Γ_i with a Schnorr proof of γ_i.
 *   round 4 phase 5A: R = δ^-1·ΣΓ_j, s_i = m·k_i + r·σ_i; commit to V_i = s_i·R + l_i·G, A_i = ρ_i·G;
 *                     echo the phase 1-4 broadcasts.
 *   round 5 phase 5B: open V_i, A_i with proofs of knowledge.
 *   round 6 phase 5C: commit to U_i = ρ_i·V, T_i = l_i·A with V = -m·G - r·Y + ΣV_j, A = ΣA_j.
 *   round 7 phase 5D: open U_i, T_i; echo all broadcasts so far (names an equivocating party).
 *   round 8 phase 5E: check ΣT_j = ΣU_j (else abort: no share is released); reveal s_i and l_i.
 *   finish:  check every s_j against V_j (names an inconsistent final share), sum, verify, low-s.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { z } from 'zod';
import { bytesToBigInt, mod, modInverse } from '../../crypto/bigint/index.ts';
import { encrypt, isCiphertext, publicKeyFromModulus } from '../../crypto/paillier/index.ts';
import { proveAliceRange, verifyAliceRange } from '../../crypto/zk/mta.ts';
import { proveDlog, proveTwoBase, verifyDlog, verifyTwoBase } from '../../crypto/zk/schnorr.ts';
import { transcriptHash, type TranscriptItem } from '../../crypto/zk/transcript.ts';
import {
  ProtocolAbort,
  type InboundMessage,
  type MpcParty,
  type OutboundMessage,
  type PartyId,
  type RoundSpec,
  type SessionContext,
} from '../types.ts';
import { aliceProof, bobProof, bytes, decodeFrom, dlogProof, encode, nat, point, twoBaseProof } from './codec.ts';
import {
  baseMul,
  binding,
  checkEcho,
  collect,
  commit,
  commitmentOf,
  G,
  holds,
  lagrangeAtZero,
  ORDER,
  partyIndex,
  randomScalar,
  RoundCounter,
  sameBytes,
  type Point,
} from './common.ts';
import { aliceMta, bobMta } from './mta.ts';
import type { HolderPublic, SecretShare } from './share.ts';

const ROUNDS: readonly RoundSpec[] = [
  { broadcast: true, p2p: true },
  { broadcast: false, p2p: true },
  ...Array.from({ length: 7 }, () => ({ broadcast: true, p2p: false })),
];

const phase1Msg = z.object({ commitment: bytes, c: nat });
const phase1ProofMsg = z.object({ proof: aliceProof });
const phase2Msg = z.object({ cGamma: nat, proofGamma: bobProof, cW: nat, proofW: bobProof });
const phase3Msg = z.object({ delta: nat });
const phase4Msg = z.object({ Gamma: point, opening: bytes, proof: dlogProof });
const commitmentMsg = z.object({ commitment: bytes });
const phase5AMsg = z.object({ commitment: bytes, echo: z.array(bytes).max(64) });
const phase5BMsg = z.object({ V: point, A: point, opening: bytes, proofV: twoBaseProof, proofA: dlogProof });
const phase5DMsg = z.object({
  U: point.or(z.literal('identity')),
  T: point.or(z.literal('identity')),
  opening: bytes,
  echo: z.array(bytes).max(64),
});
const phase5EMsg = z.object({ s: nat, l: nat });

/** Claims a nonce point once per party; false if it was used before (refused). */
export interface NonceRegistry {
  claim(party: PartyId, R: Point): boolean;
}

/** Remembers the last `capacity` nonces per scheme instance (per node process). */
export function createNonceRegistry(capacity: number): NonceRegistry {
  const seen = new Set<string>();
  return {
    claim(party, R) {
      const key = `${party}:${R.toHex(true)}`;
      if (seen.has(key)) return false;
      seen.add(key);
      if (seen.size > capacity) seen.delete(seen.values().next().value!);
      return true;
    },
  };
}

/** The 65-byte signature r‖s‖v with low s and v = 27 + recovery id. */
export function encodeSignature(r: bigint, s: bigint, recovery: number): Uint8Array {
  const out = new Uint8Array(65);
  out.set(Buffer.from(r.toString(16).padStart(64, '0'), 'hex'), 0);
  out.set(Buffer.from(s.toString(16).padStart(64, '0'), 'hex'), 32);
  out[64] = 27 + recovery;
  return out;
}

function mtaFailure(kind: 'MtA' | 'MtAwc', reason: 'proof' | 'range'): string {
  return reason === 'proof'
    ? `Bob's ${kind} range proof failed`
    : `Bob's ${kind} plaintext is outside the range its proof guarantees`;
}

function checkContext(ctx: SessionContext, share: SecretShare): void {
  const holders = share.info.holders.map((h) => h.id);
  if (holders.join() !== ctx.holders.join() || share.info.threshold !== ctx.threshold) {
    throw new Error('signing context does not match the key share');
  }
  if (share.self !== ctx.self) throw new Error('key share belongs to another party');
  if (new Set(ctx.parties).size !== ctx.parties.length || ctx.parties.length < ctx.threshold) {
    throw new Error(`GG18 signing needs at least ${ctx.threshold} distinct signers`);
  }
  for (const p of ctx.parties) if (!holders.includes(p)) throw new Error(`${p} holds no share`);
  if (!ctx.parties.includes(ctx.self)) throw new Error(`${ctx.self} is not a signer`);
}

export function createSignParty(
  ctx: SessionContext,
  share: SecretShare,
  digest: Uint8Array,
  nonces: NonceRegistry,
): MpcParty<Uint8Array> {
  if (digest.length !== 32) throw new Error('GG18 signs a 32-byte digest');
  checkContext(ctx, share);
  const counter = new RoundCounter(ROUNDS.length);
  const others = ctx.parties.filter((p) => p !== ctx.self);
  const holder = (id: PartyId): HolderPublic => share.info.holders.find((h) => h.id === id)!;
  const indices = ctx.parties.map((p) => partyIndex(ctx, p));
  const lambda = (id: PartyId): bigint => lagrangeAtZero(partyIndex(ctx, id), indices);
  const W = (id: PartyId): Point => holder(id).X.multiply(lambda(id));
  const m = mod(bytesToBigInt(digest), ORDER);
  const myPaillier = share.paillier;
  const Y = share.info.publicKey;

  // Secret per-session state; dropped after use.
  let w = mod(lambda(ctx.self) * share.x, ORDER);
  let k = randomScalar();
  let gamma = randomScalar();
  const Gamma = G.multiply(gamma);
  const gammaCommit = commit(ctx, 'Gamma', [Gamma]);
  const kEnc = encrypt(myPaillier, k);
  const betas: bigint[] = [];
  const nus: bigint[] = [];
  const peerCiphertexts = new Map<PartyId, bigint>();
  const peerCommitments = new Map<PartyId, Uint8Array>();
  const peerV = new Map<PartyId, Point>();
  let delta = 0n;
  let sigma = 0n;
  let R: Point = G;
  let r = 0n;
  let s = 0n;
  let l = 0n;
  let rho = 0n;
  let V: Point = G;
  let A: Point = G;
  let VA: { commitment: Uint8Array; opening: Uint8Array } | undefined;
  let UT: { commitment: Uint8Array; opening: Uint8Array; U: Point; T: Point } | undefined;
  let echoBefore5A: Uint8Array[] = [];

  // Echo broadcast: what each party broadcast (phases 1, 3, 4, then the 5A and 5C commitments),
  // as this party received it; echoed in 5A and again in 5D.
  const views = new Map<PartyId, TranscriptItem[]>(ctx.parties.map((p) => [p, []]));
  views.get(ctx.self)!.push(gammaCommit.commitment, kEnc.c);

  function echo(): Uint8Array[] {
    return ctx.parties.map((p) => transcriptHash('echo', binding(ctx, p), views.get(p)!));
  }

  function phase1(): OutboundMessage[] {
    const out: OutboundMessage[] = [{ payload: encode({ commitment: gammaCommit.commitment, c: kEnc.c }) }];
    for (const j of others) {
      const proof = proveAliceRange(myPaillier, kEnc.c, k, kEnc.r, holder(j).ringPedersen, binding(ctx, ctx.self, j));
      out.push({ to: j, payload: encode({ proof }) });
    }
    return out;
  }

  function phase2(inbound: readonly InboundMessage[]): OutboundMessage[] {
    const got = collect(ctx, ROUNDS[0]!, inbound);
    const seen = new Set<bigint>([kEnc.c]);
    for (const j of others) {
      const b = decodeFrom(phase1Msg, got.get(j)!.broadcast!, j, 'phase 1 commitment');
      const p = decodeFrom(phase1ProofMsg, got.get(j)!.p2p!, j, 'phase 1 range proof');
      const pk = publicKeyFromModulus(holder(j).paillierN);
      // A repeated ciphertext means a replayed or reused nonce: refused (issue 3).
      if (!isCiphertext(pk, b.c) || seen.has(b.c)) throw new ProtocolAbort(j, 'invalid or repeated k ciphertext');
      seen.add(b.c);
      if (!holds(() => verifyAliceRange(pk, b.c, share.ringPedersen, p.proof, binding(ctx, j, ctx.self)))) {
        throw new ProtocolAbort(j, "Alice's MtA range proof failed");
      }
      peerCiphertexts.set(j, b.c);
      peerCommitments.set(j, b.commitment);
      views.get(j)!.push(b.commitment, b.c);
    }
    const out: OutboundMessage[] = [];
    const myW = G.multiply(w);
    for (const j of others) {
      const pk = publicKeyFromModulus(holder(j).paillierN);
      const c1 = peerCiphertexts.get(j)!;
      const b = binding(ctx, ctx.self, j);
      const mta = bobMta(pk, c1, gamma, undefined, holder(j).ringPedersen, b);
      const mtawc = bobMta(pk, c1, w, myW, holder(j).ringPedersen, b);
      betas.push(mta.share);
      nus.push(mtawc.share);
      out.push({
        to: j,
        payload: encode({ cGamma: mta.c2, proofGamma: mta.proof, cW: mtawc.c2, proofW: mtawc.proof }),
      });
    }
    return out;
  }

  function phase3(inbound: readonly InboundMessage[]): OutboundMessage[] {
    const got = collect(ctx, ROUNDS[1]!, inbound);
    delta = mod(k * gamma, ORDER);
    sigma = mod(k * w, ORDER);
    for (const j of others) {
      const msg = decodeFrom(phase2Msg, got.get(j)!.p2p!, j, 'phase 2 MtA message');
      const b = binding(ctx, j, ctx.self);
      const alpha = aliceMta(
        myPaillier,
        share.ringPedersen,
        kEnc.c,
        { c2: msg.cGamma, proof: msg.proofGamma },
        undefined,
        b,
      );
      if (!alpha.ok) throw new ProtocolAbort(j, mtaFailure('MtA', alpha.reason));
      const mu = aliceMta(myPaillier, share.ringPedersen, kEnc.c, { c2: msg.cW, proof: msg.proofW }, W(j), b);
      if (!mu.ok) throw new ProtocolAbort(j, mtaFailure('MtAwc', mu.reason));
      delta = mod(delta + alpha.share, ORDER);
      sigma = mod(sigma + mu.share, ORDER);
    }
    for (const beta of betas) delta = mod(delta + beta, ORDER);
    for (const nu of nus) sigma = mod(sigma + nu, ORDER);
    betas.length = 0;
    nus.length = 0;
    views.get(ctx.self)!.push(delta);
    return [{ payload: encode({ delta }) }];
  }

  function phase4(inbound: readonly InboundMessage[]): OutboundMessage[] {
    const got = collect(ctx, ROUNDS[2]!, inbound);
    let total = delta;
    for (const j of others) {
      const msg = decodeFrom(phase3Msg, got.get(j)!.broadcast!, j, 'phase 3 delta');
      if (msg.delta >= ORDER) throw new ProtocolAbort(j, 'delta share out of range');
      total = mod(total + msg.delta, ORDER);
      views.get(j)!.push(msg.delta);
    }
    if (total === 0n) throw new ProtocolAbort(undefined, 'delta is zero');
    delta = total;
    const proof = proveDlog(gamma, Gamma, binding(ctx, ctx.self));
    gamma = 0n;
    return [{ payload: encode({ Gamma, opening: gammaCommit.opening, proof }) }];
  }

  function phase5A(inbound: readonly InboundMessage[]): OutboundMessage[] {
    const got = collect(ctx, ROUNDS[3]!, inbound);
    let sum = Gamma;
    views.get(ctx.self)!.push(Gamma.toBytes(true));
    const seen = new Set([Gamma.toHex(true)]);
    for (const j of others) {
      const msg = decodeFrom(phase4Msg, got.get(j)!.broadcast!, j, 'phase 4 opening');
      if (!sameBytes(commitmentOf(ctx, j, 'Gamma', msg.opening, [msg.Gamma]), peerCommitments.get(j)!)) {
        throw new ProtocolAbort(j, 'Gamma opening does not match its commitment');
      }
      if (seen.has(msg.Gamma.toHex(true))) throw new ProtocolAbort(j, 'repeated Gamma');
      seen.add(msg.Gamma.toHex(true));
      if (!holds(() => verifyDlog(msg.Gamma, msg.proof, binding(ctx, j)))) {
        throw new ProtocolAbort(j, 'Schnorr proof for Gamma failed');
      }
      sum = sum.add(msg.Gamma);
      views.get(j)!.push(msg.Gamma.toBytes(true));
    }
    if (sum.is0()) throw new ProtocolAbort(undefined, 'sum of Gamma is the identity');
    R = sum.multiply(modInverse(delta, ORDER));
    r = mod(R.toAffine().x, ORDER);
    if (r === 0n) throw new ProtocolAbort(undefined, 'r is zero');
    // A nonce this party already signed with would leak its share: refused (issue 3).
    if (!nonces.claim(ctx.self, R)) throw new ProtocolAbort(undefined, 'repeated signing nonce R');
    s = mod(m * k + r * sigma, ORDER);
    k = 0n;
    sigma = 0n;
    w = 0n;
    l = randomScalar();
    rho = randomScalar();
    V = (s === 0n ? secp256k1.Point.ZERO : R.multiply(s)).add(G.multiply(l));
    A = G.multiply(rho);
    VA = commit(ctx, 'VA', [V, A]);
    echoBefore5A = echo();
    views.get(ctx.self)!.push(VA.commitment);
    return [{ payload: encode({ commitment: VA.commitment, echo: echoBefore5A }) }];
  }

  function phase5B(inbound: readonly InboundMessage[]): OutboundMessage[] {
    const got = collect(ctx, ROUNDS[4]!, inbound);
    for (const j of others) {
      const msg = decodeFrom(phase5AMsg, got.get(j)!.broadcast!, j, 'phase 5A commitment');
      checkEcho(ctx, j, msg.echo, echoBefore5A);
      peerCommitments.set(j, msg.commitment);
      views.get(j)!.push(msg.commitment);
    }
    const proofV = proveTwoBase(s, l, R, V, binding(ctx, ctx.self));
    const proofA = proveDlog(rho, A, binding(ctx, ctx.self));
    return [{ payload: encode({ V, A, opening: VA!.opening, proofV, proofA }) }];
  }

  function phase5C(inbound: readonly InboundMessage[]): OutboundMessage[] {
    const got = collect(ctx, ROUNDS[5]!, inbound);
    let sumV = V;
    let sumA = A;
    for (const j of others) {
      const msg = decodeFrom(phase5BMsg, got.get(j)!.broadcast!, j, 'phase 5B opening');
      if (!sameBytes(commitmentOf(ctx, j, 'VA', msg.opening, [msg.V, msg.A]), peerCommitments.get(j)!)) {
        throw new ProtocolAbort(j, 'V_i, A_i opening does not match its commitment');
      }
      if (!holds(() => verifyTwoBase(R, msg.V, msg.proofV, binding(ctx, j)))) {
        throw new ProtocolAbort(j, 'proof of knowledge for V_i failed');
      }
      if (!holds(() => verifyDlog(msg.A, msg.proofA, binding(ctx, j)))) {
        throw new ProtocolAbort(j, 'proof of knowledge for A_i failed');
      }
      peerV.set(j, msg.V);
      sumV = sumV.add(msg.V);
      sumA = sumA.add(msg.A);
    }
    const bigV = sumV.subtract(baseMul(m)).subtract(Y.multiplyUnsafe(r));
    const U = bigV.is0() ? bigV : bigV.multiply(rho);
    const T = sumA.is0() ? sumA : sumA.multiply(l);
    const c = commit(
      ctx,
      'UT',
      [U, T].filter((p) => !p.is0()),
    );
    UT = { ...c, U, T };
    views.get(ctx.self)!.push(c.commitment);
    return [{ payload: encode({ commitment: c.commitment }) }];
  }

  function phase5D(inbound: readonly InboundMessage[]): OutboundMessage[] {
    const got = collect(ctx, ROUNDS[6]!, inbound);
    for (const j of others) {
      const { commitment } = decodeFrom(commitmentMsg, got.get(j)!.broadcast!, j, 'phase 5C commitment');
      peerCommitments.set(j, commitment);
      views.get(j)!.push(commitment);
    }
    const show = (p: Point): Point | 'identity' => (p.is0() ? 'identity' : p);
    return [{ payload: encode({ U: show(UT!.U), T: show(UT!.T), opening: UT!.opening, echo: echo() }) }];
  }

  function phase5E(inbound: readonly InboundMessage[]): OutboundMessage[] {
    const got = collect(ctx, ROUNDS[7]!, inbound);
    let sumU = UT!.U;
    let sumT = UT!.T;
    const echoes = new Map<PartyId, readonly Uint8Array[]>();
    for (const j of others) {
      const msg = decodeFrom(phase5DMsg, got.get(j)!.broadcast!, j, 'phase 5D opening');
      const U = msg.U === 'identity' ? secp256k1.Point.ZERO : msg.U;
      const T = msg.T === 'identity' ? secp256k1.Point.ZERO : msg.T;
      const opened = [U, T].filter((p) => !p.is0());
      if (!sameBytes(commitmentOf(ctx, j, 'UT', msg.opening, opened), peerCommitments.get(j)!)) {
        throw new ProtocolAbort(j, 'U_i, T_i opening does not match its commitment');
      }
      echoes.set(j, msg.echo);
      sumU = sumU.add(U);
      sumT = sumT.add(T);
    }
    // Echoes after the openings: an opening failure names its sender exactly.
    const mine = echo();
    for (const j of others) checkEcho(ctx, j, echoes.get(j)!, mine);
    // GG18 phase 5E: ΣU = ΣT holds iff the shares s_j sum to a valid signature. GG18 cannot
    // attribute this failure to one party; no share is released.
    if (!sumU.equals(sumT)) throw new ProtocolAbort(undefined, 'phase 5 consistency check failed');
    return [{ payload: encode({ s, l }) }];
  }

  function finish(inbound: readonly InboundMessage[]): Uint8Array {
    const got = collect(ctx, ROUNDS[8]!, inbound);
    let total = s;
    for (const j of others) {
      const msg = decodeFrom(phase5EMsg, got.get(j)!.broadcast!, j, 'final signature share');
      // s_j·R + l_j·G must be the V_j committed in phase 5A: attributes an inconsistent share.
      if (msg.s >= ORDER || msg.l >= ORDER || !R.multiplyUnsafe(msg.s).add(baseMul(msg.l)).equals(peerV.get(j)!)) {
        throw new ProtocolAbort(j, 'final signature share inconsistent with its phase 5 commitment');
      }
      total = mod(total + msg.s, ORDER);
    }
    return finalSignature(R, r, total, digest, Y);
  }

  const rounds = [phase1, phase2, phase3, phase4, phase5A, phase5B, phase5C, phase5D, phase5E];
  return {
    rounds: ROUNDS,
    round(rn, inbound) {
      counter.enter(rn);
      return rounds[rn]!(inbound);
    },
    finish(inbound) {
      counter.finish();
      return finish(inbound);
    },
  };
}

/** Low-s normalisation, recovery id, and a final standard verification before release. */
export function finalSignature(R: Point, r: bigint, s: bigint, digest: Uint8Array, Y: Point): Uint8Array {
  if (s === 0n) throw new ProtocolAbort(undefined, 's is zero');
  const affine = R.toAffine();
  let recovery = (affine.y & 1n ? 1 : 0) | (affine.x >= ORDER ? 2 : 0);
  let lowS = s;
  if (s > ORDER >> 1n) {
    lowS = ORDER - s;
    recovery ^= 1;
  }
  const sig = encodeSignature(r, lowS, recovery);
  if (!secp256k1.verify(sig.subarray(0, 64), digest, Y.toBytes(true), { prehash: false })) {
    throw new ProtocolAbort(undefined, 'final signature does not verify');
  }
  return sig;
}
