/**
 * DKLS23 threshold signing, Protocol 3.6 of Doerner, Kondi, Lee, shelat, "Threshold ECDSA in
 * Three Rounds" (IEEE S&P 2024, ePrint 2023/765), among any ≥ t holders. Party i holds the
 * additive key share sk_i = λ_i·x_i (Lagrange over the signers), samples an instance key r_i
 * (R_i = r_i·G) and an inversion mask φ_i, and for every other signer j runs two multiplications:
 * one as Bob (random input χ_{i,j}) with j as Alice, one as Alice (inputs r_i, sk_i) with j as Bob.
 *
 *   round 1 (p2p to j): commitment to R_i; Bob's multiplication message             (steps 4–6)
 *   round 2 (p2p to j): R_i and opening; pk_i = sk_i·G; Alice's multiplication answer,
 *                       giving c^u, c^v; Γ^u = c^u·G, Γ^v = c^v·G; ψ = φ_i − χ_{i,j}  (step 7)
 *   round 3 (broadcast): after the checks (step 8), u_i = r_i·(φ_i + Σψ_j) + Σ(c^u + d^u),
 *                       v_i = sk_i·(φ_i + Σψ_j) + Σ(c^v + d^v), w_i = m·φ_i + r_x·v_i   (step 9)
 *   finish:             s = Σw / Σu; the signature must verify under pk                 (step 10)
 *
 * Checks on j's round 2 message, each naming j: the opening of R_j's commitment; the
 * multiplication's own check (DKLs19 Protocol 1); χ·R_j = Γ^u + d^u·G and χ·pk_j = Γ^v + d^v·G
 * (step 8; the paper's second check reads "Lagrange(P, j, 0)·p(j)·G", that is pk_j); and, since the
 * DKG published every verification share, pk_j = λ_j·X_j, which implies the paper's Σ pk_j = pk.
 * A bad u_j or w_j makes the final verification fail, which the paper does not attribute.
 */
import { ByteWriter, decodeAll } from '../encoding.ts';
import { readPoint, readScalar, writePoint, writeScalar } from '../threshold/codec.ts';
import { commit, sessionTag, verifyCommitment } from '../threshold/commitment.ts';
import { digestScalar, nonceX, releaseSignature } from '../threshold/ecdsa.ts';
import { collectRound, parseFrom, partyIndex, RoundCounter } from '../threshold/parties.ts';
import { baseMul, invq, modq, publicMul, randomScalar, type Point } from '../threshold/scalars.ts';
import { lagrangeAtZero } from '../threshold/shamir.ts';
import {
  ProtocolAbort,
  type InboundMessage,
  type MpcParty,
  type OutboundMessage,
  type PartyId,
  type RoundSpec,
  type SessionContext,
} from '../types.ts';
import { PROTOCOL } from './keygen.ts';
import {
  aliceRespond,
  bobFinish,
  bobStart,
  readAliceResponse,
  readExtMessage,
  writeAliceResponse,
  writeExtMessage,
  type AliceResponse,
  type BobKeep,
} from './multiply.ts';
import type { SecretShare } from './share.ts';
import type { ExtReceiverMessage } from '../ot/kos.ts';

/** Round 1 broadcasts the commitment (the node runtime also needs a round-0 broadcast for its session key). */
export const SIGN_ROUNDS: readonly RoundSpec[] = [
  { broadcast: true, p2p: true },
  { broadcast: false, p2p: true },
  { broadcast: true, p2p: false },
];

export interface Round1Message {
  /** Broadcast: the commitment to R_i. */
  readonly commitment: Uint8Array;
  /** Point-to-point: Bob's multiplication message. */
  readonly mul: ExtReceiverMessage;
}

export interface Round2Message {
  readonly R: Point;
  readonly opening: Uint8Array;
  readonly pk: Point;
  readonly gammaU: Point;
  readonly gammaV: Point;
  readonly psi: bigint;
  readonly mul: AliceResponse;
}

export interface Round3Message {
  readonly u: bigint;
  readonly w: bigint;
}

export function encodeRound1Mul(m: ExtReceiverMessage): Uint8Array {
  const w = new ByteWriter();
  writeExtMessage(w, m);
  return w.finish();
}

export function decodeRound1(from: PartyId, broadcast: Uint8Array, p2p: Uint8Array): Round1Message {
  return parseFrom(from, 'round 1 message', () => {
    if (broadcast.length !== 32) throw new Error('commitment must be 32 bytes');
    return { commitment: broadcast, mul: decodeAll(p2p, readExtMessage) };
  });
}

export function encodeRound2(m: Round2Message): Uint8Array {
  const w = new ByteWriter();
  writePoint(w, m.R);
  w.bytes(m.opening);
  writePoint(w, m.pk);
  writePoint(w, m.gammaU);
  writePoint(w, m.gammaV);
  writeScalar(w, m.psi);
  writeAliceResponse(w, m.mul);
  return w.finish();
}

export function decodeRound2(from: PartyId, b: Uint8Array): Round2Message {
  return parseFrom(from, 'round 2 message', () =>
    decodeAll(b, (r) => ({
      R: readPoint(r),
      opening: r.bytes(32),
      pk: readPoint(r),
      gammaU: readPoint(r),
      gammaV: readPoint(r),
      psi: readScalar(r),
      mul: readAliceResponse(r),
    })),
  );
}

export function encodeRound3(m: Round3Message): Uint8Array {
  const w = new ByteWriter();
  writeScalar(w, m.u);
  writeScalar(w, m.w);
  return w.finish();
}

export function decodeRound3(from: PartyId, b: Uint8Array): Round3Message {
  return parseFrom(from, 'round 3 message', () => decodeAll(b, (r) => ({ u: readScalar(r), w: readScalar(r) })));
}

function checkSignContext(ctx: SessionContext, share: SecretShare): void {
  const { info } = share;
  if (ctx.self !== share.self) throw new Error('the share belongs to another party');
  if (ctx.holders.join() !== info.holders.join() || ctx.threshold !== info.threshold) {
    throw new Error('session holders or threshold differ from the key');
  }
  if (ctx.parties.length < info.threshold) throw new Error('fewer signers than the threshold');
  if (new Set(ctx.parties).size !== ctx.parties.length) throw new Error('duplicate signer');
  if (!ctx.parties.includes(ctx.self)) throw new Error(`${ctx.self} is not a signer`);
  for (const p of ctx.parties) if (!info.holders.includes(p)) throw new Error(`${p} is not a holder`);
}

export function createSignParty(ctx: SessionContext, share: SecretShare, digest: Uint8Array): MpcParty<Uint8Array> {
  checkSignContext(ctx, share);
  const m = digestScalar(digest);
  const counter = new RoundCounter(SIGN_ROUNDS.length);
  const others = ctx.parties.filter((p) => p !== ctx.self);
  const tag = sessionTag(`${PROTOCOL}/sign`, ctx);
  const mulTag = (alice: PartyId, bob: PartyId): string => `${tag}|mul|alice=${alice}|bob=${bob}`;
  const indices = ctx.parties.map((p) => partyIndex(ctx.holders, p));
  const lambda = (p: PartyId): bigint => lagrangeAtZero(partyIndex(ctx.holders, p), indices);
  const pkOf = (p: PartyId): Point => publicMul(share.info.verificationShares[ctx.holders.indexOf(p)]!, lambda(p));

  // Step 5: the instance key and the inversion mask.
  const r = randomScalar();
  const phi = randomScalar();
  const R = baseMul(r);
  const sk = modq(lambda(ctx.self) * share.x);
  const pk = baseMul(sk);
  const { commitment, opening } = commit(tag, ctx.self, [R.toBytes(true)]);
  const bobKeeps = new Map<PartyId, BobKeep>();
  const commitments = new Map<PartyId, Uint8Array>();
  const aliceOut = new Map<PartyId, bigint[]>();
  let R_total: Point | undefined;

  function round1(): OutboundMessage[] {
    const toEach = others.map((j) => {
      const { keep, message } = bobStart(share.peers.get(j)!.bob, mulTag(j, ctx.self));
      bobKeeps.set(j, keep);
      return { to: j, payload: encodeRound1Mul(message) };
    });
    return [{ payload: commitment }, ...toEach];
  }

  function round2(inbound: readonly InboundMessage[]): OutboundMessage[] {
    const got = collectRound(ctx, SIGN_ROUNDS[0]!, inbound);
    return others.map((j) => {
      const msg = decodeRound1(j, got.get(j)!.broadcast!, got.get(j)!.p2p!);
      commitments.set(j, msg.commitment);
      const out = aliceRespond(share.peers.get(j)!.alice, mulTag(ctx.self, j), [r, sk], msg.mul);
      if (!out) throw new ProtocolAbort(j, 'OT extension consistency check (KOS) failed');
      aliceOut.set(j, out.c);
      const payload = encodeRound2({
        R,
        opening,
        pk,
        gammaU: baseMul(out.c[0]!),
        gammaV: baseMul(out.c[1]!),
        psi: modq(phi - bobKeeps.get(j)!.b),
        mul: out.response,
      });
      return { to: j, payload };
    });
  }

  function round3(inbound: readonly InboundMessage[]): OutboundMessage[] {
    const got = collectRound(ctx, SIGN_ROUNDS[1]!, inbound);
    let total = R;
    let pkSum = pk;
    let psiSum = phi;
    let sumU = 0n;
    let sumV = 0n;
    for (const j of others) {
      const msg = decodeRound2(j, got.get(j)!.p2p!);
      if (!verifyCommitment(tag, j, commitments.get(j)!, msg.opening, [msg.R.toBytes(true)])) {
        throw new ProtocolAbort(j, 'R_j does not open its round 1 commitment');
      }
      const keep = bobKeeps.get(j)!;
      const d = bobFinish(keep, mulTag(j, ctx.self), msg.mul);
      if (!d) throw new ProtocolAbort(j, 'multiplication check failed');
      const chi = keep.b;
      if (!publicMul(msg.R, chi).equals(msg.gammaU.add(baseMul(d[0]!)))) {
        throw new ProtocolAbort(j, 'consistency check χ·R_j = Γ^u + d^u·G failed');
      }
      if (!publicMul(msg.pk, chi).equals(msg.gammaV.add(baseMul(d[1]!)))) {
        throw new ProtocolAbort(j, 'consistency check χ·pk_j = Γ^v + d^v·G failed');
      }
      if (!msg.pk.equals(pkOf(j))) throw new ProtocolAbort(j, 'pk_j is not λ_j·X_j');
      const c = aliceOut.get(j)!;
      total = total.add(msg.R);
      pkSum = pkSum.add(msg.pk);
      psiSum = modq(psiSum + msg.psi);
      sumU = modq(sumU + c[0]! + d[0]!);
      sumV = modq(sumV + c[1]! + d[1]!);
    }
    if (!pkSum.equals(share.info.publicKey)) throw new ProtocolAbort(undefined, 'Σ pk_j differs from the public key');
    if (total.is0()) throw new ProtocolAbort(undefined, 'R is the identity');
    R_total = total;
    const u = modq(r * psiSum + sumU);
    const v = modq(sk * psiSum + sumV);
    const w = modq(m * phi + nonceX(total) * v);
    return [{ payload: encodeRound3({ u, w }) }];
  }

  let own: Round3Message | undefined;
  return {
    rounds: SIGN_ROUNDS,
    round(n, inbound) {
      counter.enter(n);
      if (n === 0) return round1();
      if (n === 1) return round2(inbound);
      const out = round3(inbound);
      own = decodeRound3(ctx.self, out[0]!.payload);
      return out;
    },
    finish(inbound) {
      counter.finish();
      const got = collectRound(ctx, SIGN_ROUNDS[2]!, inbound);
      let sumW = own!.w;
      let sumU = own!.u;
      for (const j of others) {
        const msg = decodeRound3(j, got.get(j)!.broadcast!);
        sumW = modq(sumW + msg.w);
        sumU = modq(sumU + msg.u);
      }
      if (sumU === 0n) throw new ProtocolAbort(undefined, 'Σu is zero');
      return releaseSignature(R_total!, modq(sumW * invq(sumU)), digest, share.info.publicKey);
    },
  };
}
