/**
 * GG18 key generation (Gennaro–Goldfeder, ePrint 2019/114, §4.1) for `threshold` of n holders,
 * hardened as in tss-lib v2 after the 2022–23 disclosures:
 *
 *   round 0 (broadcast): commitment to the Feldman coefficients; Paillier modulus N_i with Πmod;
 *                        ring-Pedersen (N~_i, h1_i, h2_i) with Πprm in both directions.
 *   round 1 (broadcast): opening of the commitment (Feldman VSS commitments); echo of every
 *                        party's round 0 broadcast as received.
 *           (p2p):       the share f_i(j) and Πfac for N_i against j's ring-Pedersen params.
 *   round 2 (broadcast): Schnorr proof of knowledge of x_i.
 *   finish:              verify the proofs; output the key.
 *
 * Every failed check aborts naming the party whose message failed it. The echo makes every holder
 * store the same public data (moduli, ring-Pedersen parameters, and through the commitments the
 * Feldman coefficients) even if a party and the relay show different round 0 broadcasts to
 * different holders; see checkEcho for whom a mismatch names.
 */
import { bitLength, mod } from '../../crypto/bigint/index.ts';
import { MIN_MODULUS_BITS } from '../../crypto/paillier/index.ts';
import { proveNoSmallFactor, verifyNoSmallFactor } from '../../crypto/zk/no-small-factor.ts';
import { proveBlumModulus, verifyBlumModulus } from '../../crypto/zk/paillier-blum.ts';
import { proveRingPedersen, verifyRingPedersen } from '../../crypto/zk/ring-pedersen.ts';
import { proveDlog, verifyDlog } from '../../crypto/zk/schnorr.ts';
import {
  ProtocolAbort,
  type InboundMessage,
  type KeygenOutput,
  type MpcParty,
  type OutboundMessage,
  type PartyId,
  type RoundSpec,
  type SessionContext,
} from '../types.ts';
import { z } from 'zod';
import { transcriptHash } from '../../crypto/zk/transcript.ts';
import { blumProof, bytes, decodeFrom, dlogProof, encode, facProof, nat, point, ringPedersenProof } from './codec.ts';
import {
  binding,
  checkEcho,
  collect,
  commit,
  commitmentOf,
  baseMul,
  G,
  holds,
  ORDER,
  partyIndex,
  randomScalar,
  RoundCounter,
  sameBytes,
  type Point,
} from './common.ts';
import type { PreParams } from './preparams.ts';
import { encodePublicInfo, encodeSecretShare, type HolderPublic, type PublicInfo } from './share.ts';

const ROUNDS: readonly RoundSpec[] = [
  { broadcast: true, p2p: false },
  { broadcast: true, p2p: true },
  { broadcast: true, p2p: false },
];

const round0Schema = z.object({
  commitment: bytes,
  paillierN: nat,
  nTilde: nat,
  h1: nat,
  h2: nat,
  modProof: blumProof,
  prmProof: ringPedersenProof,
});
const round1Broadcast = z.object({
  opening: bytes,
  coefficients: z.array(point).max(64),
  echo: z.array(bytes).max(64),
});
const round1P2p = z.object({ share: nat, facProof });
const round2Schema = z.object({ proof: dlogProof });

interface PeerSetup {
  readonly commitment: Uint8Array;
  readonly paillierN: bigint;
  readonly ringPedersen: { nTilde: bigint; h1: bigint; h2: bigint };
}

/** Σ_k C_k · i^k: the Feldman commitment evaluated at index i. */
export function evaluateCommitments(coefficients: readonly Point[], i: bigint): Point {
  let acc = coefficients[coefficients.length - 1]!;
  for (let k = coefficients.length - 2; k >= 0; k--) {
    acc = acc.multiplyUnsafe(i).add(coefficients[k]!);
  }
  return acc;
}

function evaluatePolynomial(coefficients: readonly bigint[], i: bigint): bigint {
  let acc = 0n;
  for (let k = coefficients.length - 1; k >= 0; k--) acc = mod(acc * i + coefficients[k]!, ORDER);
  return acc;
}

function checkContext(ctx: SessionContext): void {
  const n = ctx.holders.length;
  if (!Number.isInteger(ctx.threshold) || ctx.threshold < 2 || ctx.threshold > n) {
    throw new Error(`GG18 needs 1 < threshold <= holders (got ${ctx.threshold} of ${n})`);
  }
  if (new Set(ctx.holders).size !== n || ctx.parties.join() !== ctx.holders.join()) {
    throw new Error('GG18 keygen runs among all holders, each once');
  }
  if (!ctx.holders.includes(ctx.self)) throw new Error(`${ctx.self} is not a holder`);
}

export function createKeygenParty(ctx: SessionContext, pre: PreParams): MpcParty<KeygenOutput> {
  checkContext(ctx);
  const counter = new RoundCounter(ROUNDS.length);
  const others = ctx.parties.filter((p) => p !== ctx.self);
  const myIndex = partyIndex(ctx, ctx.self);
  const polynomial = Array.from({ length: ctx.threshold }, randomScalar);
  const coefficients = polynomial.map((a) => G.multiply(a));
  const { commitment, opening } = commit(ctx, 'keygen', coefficients);
  const peers = new Map<PartyId, PeerSetup>();
  const peerCoefficients = new Map<PartyId, readonly Point[]>();
  let x = 0n;
  let info: PublicInfo | undefined;
  /** Each party's round 0 broadcast as this party received it (its own as sent). */
  const round0Views = new Map<PartyId, Uint8Array>();

  function echo(): Uint8Array[] {
    return ctx.parties.map((p) => transcriptHash('keygen-echo', binding(ctx, p), [round0Views.get(p)!]));
  }

  function round0(): OutboundMessage[] {
    const b = binding(ctx, ctx.self);
    const payload = encode({
      commitment,
      paillierN: pre.paillier.n,
      nTilde: pre.ringPedersen.nTilde,
      h1: pre.ringPedersen.h1,
      h2: pre.ringPedersen.h2,
      modProof: proveBlumModulus(pre.paillier, b),
      prmProof: proveRingPedersen(pre.ringPedersen, b),
    });
    round0Views.set(ctx.self, payload);
    return [{ payload }];
  }

  function round1(inbound: readonly InboundMessage[]): OutboundMessage[] {
    const got = collect(ctx, ROUNDS[0]!, inbound);
    const seenModuli = new Set([pre.paillier.n, pre.ringPedersen.nTilde]);
    for (const j of others) {
      round0Views.set(j, got.get(j)!.broadcast!);
      const m = decodeFrom(round0Schema, got.get(j)!.broadcast!, j, 'keygen round 0 message');
      const b = binding(ctx, j);
      const ringPedersen = { nTilde: m.nTilde, h1: m.h1, h2: m.h2 };
      // Refuse short moduli (issue 3; the BitForge attacks rely on weak Paillier keys).
      if (bitLength(m.paillierN) < MIN_MODULUS_BITS) {
        throw new ProtocolAbort(j, 'Paillier modulus below 2048 bits');
      }
      if (seenModuli.has(m.paillierN) || seenModuli.has(m.nTilde) || m.paillierN === m.nTilde) {
        throw new ProtocolAbort(j, 'reused Paillier or ring-Pedersen modulus');
      }
      seenModuli.add(m.paillierN).add(m.nTilde);
      if (!holds(() => verifyBlumModulus(m.paillierN, m.modProof, b))) {
        throw new ProtocolAbort(j, 'Paillier–Blum modulus proof (Πmod) failed');
      }
      if (!holds(() => verifyRingPedersen(ringPedersen, m.prmProof, b))) {
        throw new ProtocolAbort(j, 'ring-Pedersen parameter proof (Πprm) failed');
      }
      peers.set(j, { commitment: m.commitment, paillierN: m.paillierN, ringPedersen });
    }
    const out: OutboundMessage[] = [{ payload: encode({ opening, coefficients, echo: echo() }) }];
    for (const j of others) {
      const share = evaluatePolynomial(polynomial, partyIndex(ctx, j));
      const proof = proveNoSmallFactor(pre.paillier, peers.get(j)!.ringPedersen, binding(ctx, ctx.self, j));
      out.push({ to: j, payload: encode({ share, facProof: proof }) });
    }
    return out;
  }

  function round2(inbound: readonly InboundMessage[]): OutboundMessage[] {
    const got = collect(ctx, ROUNDS[1]!, inbound);
    x = evaluatePolynomial(polynomial, myIndex);
    const echoes = new Map<PartyId, readonly Uint8Array[]>();
    for (const j of others) {
      const open = decodeFrom(round1Broadcast, got.get(j)!.broadcast!, j, 'keygen opening');
      const priv = decodeFrom(round1P2p, got.get(j)!.p2p!, j, 'keygen share');
      const peer = peers.get(j)!;
      if (
        open.coefficients.length !== ctx.threshold ||
        !sameBytes(commitmentOf(ctx, j, 'keygen', open.opening, open.coefficients), peer.commitment)
      ) {
        throw new ProtocolAbort(j, 'Feldman commitment opening does not match its commitment');
      }
      // Feldman VSS: the share must lie on the committed polynomial.
      if (priv.share >= ORDER || !baseMul(priv.share).equals(evaluateCommitments(open.coefficients, myIndex))) {
        throw new ProtocolAbort(j, 'secret share inconsistent with its Feldman commitments');
      }
      const facBinding = binding(ctx, j, ctx.self);
      if (!holds(() => verifyNoSmallFactor(peer.paillierN, pre.ringPedersen, priv.facProof, facBinding))) {
        throw new ProtocolAbort(j, 'no-small-factor proof (Πfac) failed');
      }
      peerCoefficients.set(j, open.coefficients);
      echoes.set(j, open.echo);
      x = mod(x + priv.share, ORDER);
    }
    // After the per-sender checks, so that a failure there names its sender exactly.
    const mine = echo();
    for (const j of others) checkEcho(ctx, j, echoes.get(j)!, mine);
    peerCoefficients.set(ctx.self, coefficients);
    const all = ctx.holders.map((id) => peerCoefficients.get(id)!);
    const publicKey = all.map((c) => c[0]!).reduce((a, b) => a.add(b));
    if (publicKey.is0()) throw new ProtocolAbort(undefined, 'public key is the identity');
    const holders: HolderPublic[] = ctx.holders.map((id) => {
      const i = partyIndex(ctx, id);
      const X = all.map((c) => evaluateCommitments(c, i)).reduce((a, b) => a.add(b));
      const peer = peers.get(id);
      return {
        id,
        X,
        paillierN: peer ? peer.paillierN : pre.paillier.n,
        ringPedersen: peer ? peer.ringPedersen : pre.ringPedersen,
      };
    });
    info = { threshold: ctx.threshold, publicKey, holders };
    const myX = holders.find((h) => h.id === ctx.self)!.X;
    return [{ payload: encode({ proof: proveDlog(x, myX, binding(ctx, ctx.self)) }) }];
  }

  function finish(inbound: readonly InboundMessage[]): KeygenOutput {
    const got = collect(ctx, ROUNDS[2]!, inbound);
    const pub = info!;
    for (const j of others) {
      const m = decodeFrom(round2Schema, got.get(j)!.broadcast!, j, 'keygen proof of knowledge');
      const X = pub.holders.find((h) => h.id === j)!.X;
      if (!holds(() => verifyDlog(X, m.proof, binding(ctx, j)))) {
        throw new ProtocolAbort(j, 'Schnorr proof of knowledge of the share failed');
      }
    }
    const output: KeygenOutput = {
      publicKey: pub.publicKey.toBytes(true),
      publicInfo: encodePublicInfo(pub),
      secretShare: encodeSecretShare({
        self: ctx.self,
        x,
        paillier: pre.paillier,
        ringPedersen: pre.ringPedersen,
        info: pub,
      }),
    };
    x = 0n;
    polynomial.fill(0n);
    return output;
  }

  return {
    rounds: ROUNDS,
    round(r, inbound) {
      counter.enter(r);
      if (r === 0) return round0();
      if (r === 1) return round1(inbound);
      return round2(inbound);
    },
    finish(inbound) {
      counter.finish();
      return finish(inbound);
    },
  };
}
