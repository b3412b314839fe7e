/**
 * GG18 proactive refresh: the secp256k1 shares are re-randomised by a zero-sharing
 * (refresh/zero-sharing.ts), and every holder replaces its Paillier key and ring-Pedersen
 * parameters, proven afresh exactly as at keygen (Πmod, Πprm, and Πfac against each peer's new
 * ring-Pedersen parameters). A leaked old share, Paillier key or MtA transcript says nothing about
 * the new ones.
 *
 *   round 0 (broadcast): zero-sharing deal; new N_i with Πmod; new (N~_i, h1_i, h2_i) with Πprm.
 *   round 1 (broadcast): zero-sharing echo; SHA-256 of every holder's round-0 broadcast as received.
 *           (p2p):       zero share g_i(j); Πfac for the new N_i against j's new ring-Pedersen.
 *   finish:              echoes agree; shares match the deals; Πfac holds; new x_i, X_k and moduli.
 *
 * Every proof is bound to the session, key, threshold, holders and the digest of the key's
 * current public info, so nothing from another session or from another state of the key verifies.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { z } from 'zod';
import { bitLength, mod } from '../../crypto/bigint/index.ts';
import { MIN_MODULUS_BITS } from '../../crypto/paillier/index.ts';
import { proveNoSmallFactor, verifyNoSmallFactor } from '../../crypto/zk/no-small-factor.ts';
import { proveBlumModulus, verifyBlumModulus } from '../../crypto/zk/paillier-blum.ts';
import { proveRingPedersen, verifyRingPedersen, type RingPedersenParams } from '../../crypto/zk/ring-pedersen.ts';
import { encodeTranscript } from '../encoding.ts';
import { sameParties } from '../frost/session.ts';
import { createZeroSharingParty } from '../refresh/zero-sharing.ts';
import { secp256k1Group } from '../refresh/secp256k1-group.ts';
import {
  ProtocolAbort,
  type InboundMessage,
  type KeygenOutput,
  type MpcParty,
  type OutboundMessage,
  type PartyId,
  type SessionContext,
} from '../types.ts';
import { blumProof, decodeFrom, encode, facProof, nat, ringPedersenProof } from './codec.ts';
import { binding, collect, G, holds, ORDER, RoundCounter, sameBytes } from './common.ts';
import type { PreParams } from './preparams.ts';
import {
  decodeSecretShare,
  encodePublicInfo,
  encodeSecretShare,
  type HolderPublic,
  type SecretShare,
} from './share.ts';

const SUITE = 'GG18-SECP256K1-v1';
const hexBytes = z
  .string()
  .regex(/^([0-9a-f]{2}){1,16384}$/)
  .transform((s) => Uint8Array.from(Buffer.from(s, 'hex')));

const round0Schema = z.object({
  deal: hexBytes,
  paillierN: nat,
  nTilde: nat,
  h1: nat,
  h2: nat,
  modProof: blumProof,
  prmProof: ringPedersenProof,
});
const round1Broadcast = z.object({ zeroEcho: hexBytes, echo: hexBytes });
const round1P2p = z.object({ zeroShare: hexBytes, facProof });

interface NewPaillier {
  readonly paillierN: bigint;
  readonly ringPedersen: RingPedersenParams;
}

/** SHA-256 of the key's current public info: the state this refresh starts from. */
export function gg18StateDigest(share: SecretShare): Uint8Array {
  return sha256(encodeTranscript(['custos/gg18/public-info', encodePublicInfo(share.info)]));
}

export function createRefreshParty(ctx: SessionContext, stored: Uint8Array, pre: PreParams): MpcParty<KeygenOutput> {
  let share: SecretShare;
  try {
    share = decodeSecretShare(stored);
  } catch (e) {
    throw new ProtocolAbort(undefined, `stored key share: ${(e as Error).message}`);
  }
  const holders = share.info.holders.map((h) => h.id);
  if (share.self !== ctx.self || share.info.threshold !== ctx.threshold || !sameParties(holders, ctx.holders)) {
    throw new ProtocolAbort(undefined, 'refresh parameters do not match the stored key share');
  }
  const oldModuli = new Set(share.info.holders.flatMap((h) => [h.paillierN, h.ringPedersen.nTilde]));
  if (oldModuli.has(pre.paillier.n) || oldModuli.has(pre.ringPedersen.nTilde)) {
    throw new ProtocolAbort(undefined, 'the fresh pre-params repeat a modulus of the key');
  }
  const stateDigest = gg18StateDigest(share);
  // Proof bindings carry the refresh and the state, on top of session, key, threshold and holders.
  const bound: SessionContext = { ...ctx, sessionId: `${ctx.sessionId}|refresh|${bytesToHex(stateDigest)}` };
  const zero = createZeroSharingParty(secp256k1Group, SUITE, ctx, stateDigest);
  const counter = new RoundCounter(zero.rounds.length);
  const others = ctx.holders.filter((h) => h !== ctx.self);
  const fresh = new Map<PartyId, NewPaillier>([
    [ctx.self, { paillierN: pre.paillier.n, ringPedersen: pre.ringPedersen }],
  ]);
  const round0Views = new Map<PartyId, Uint8Array>();
  let transcript: Uint8Array = new Uint8Array();

  function round0(): OutboundMessage[] {
    const [deal] = zero.round(0, []);
    const b = binding(bound, ctx.self);
    const payload = encode({
      deal: deal!.payload,
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
    const got = collect(ctx, zero.rounds[0]!, inbound);
    const seen = new Set([pre.paillier.n, pre.ringPedersen.nTilde]);
    const deals: InboundMessage[] = [];
    for (const j of others) {
      const raw = got.get(j)!.broadcast!;
      round0Views.set(j, raw);
      const m = decodeFrom(round0Schema, raw, j, 'refresh round 0 message');
      deals.push({ from: j, broadcast: true, payload: m.deal });
      const b = binding(bound, j);
      const ringPedersen = { nTilde: m.nTilde, h1: m.h1, h2: m.h2 };
      if (bitLength(m.paillierN) < MIN_MODULUS_BITS || bitLength(m.nTilde) < MIN_MODULUS_BITS) {
        throw new ProtocolAbort(j, 'Paillier or ring-Pedersen modulus below 2048 bits');
      }
      if (oldModuli.has(m.paillierN) || oldModuli.has(m.nTilde)) {
        throw new ProtocolAbort(j, 'refresh kept an old Paillier or ring-Pedersen modulus');
      }
      if (seen.has(m.paillierN) || seen.has(m.nTilde) || m.paillierN === m.nTilde) {
        throw new ProtocolAbort(j, 'reused Paillier or ring-Pedersen modulus');
      }
      seen.add(m.paillierN).add(m.nTilde);
      if (!holds(() => verifyBlumModulus(m.paillierN, m.modProof, b))) {
        throw new ProtocolAbort(j, 'Paillier–Blum modulus proof (Πmod) failed');
      }
      if (!holds(() => verifyRingPedersen(ringPedersen, m.prmProof, b))) {
        throw new ProtocolAbort(j, 'ring-Pedersen parameter proof (Πprm) failed');
      }
      fresh.set(j, { paillierN: m.paillierN, ringPedersen });
    }
    const zeroOut = zero.round(1, deals);
    transcript = sha256(encodeTranscript([bound.sessionId, ctx.keyId, ...ctx.holders.map((h) => round0Views.get(h)!)]));
    const zeroEcho = zeroOut.find((m) => m.to === undefined)!.payload;
    const out: OutboundMessage[] = [{ payload: encode({ zeroEcho, echo: transcript }) }];
    for (const m of zeroOut) {
      if (m.to === undefined) continue;
      const proof = proveNoSmallFactor(pre.paillier, fresh.get(m.to)!.ringPedersen, binding(bound, ctx.self, m.to));
      out.push({ to: m.to, payload: encode({ zeroShare: m.payload, facProof: proof }) });
      m.payload.fill(0);
    }
    return out;
  }

  function finish(inbound: readonly InboundMessage[]): KeygenOutput {
    const got = collect(ctx, zero.rounds[1]!, inbound);
    const forZero: InboundMessage[] = [];
    for (const j of others) {
      const pub = decodeFrom(round1Broadcast, got.get(j)!.broadcast!, j, 'refresh echo');
      if (!sameBytes(pub.echo, transcript)) {
        // j saw different round-0 broadcasts than this party: a holder equivocated, or j misreports.
        throw new ProtocolAbort(undefined, `refresh round 0 was seen differently by ${j} and ${ctx.self}`);
      }
      const priv = decodeFrom(round1P2p, got.get(j)!.p2p!, j, 'refresh share');
      const theirs = fresh.get(j)!;
      if (
        !holds(() =>
          verifyNoSmallFactor(theirs.paillierN, pre.ringPedersen, priv.facProof, binding(bound, j, ctx.self)),
        )
      ) {
        throw new ProtocolAbort(j, 'no-small-factor proof (Πfac) failed');
      }
      forZero.push(
        { from: j, broadcast: true, payload: pub.zeroEcho },
        { from: j, broadcast: false, payload: priv.zeroShare },
      );
    }
    const { delta, publicDeltas } = zero.finish(forZero);
    const x = mod(share.x + delta, ORDER);
    const next: HolderPublic[] = share.info.holders.map((h, k) => ({
      id: h.id,
      X: h.X.add(publicDeltas[k]!),
      ...fresh.get(h.id)!,
    }));
    if (x === 0n || next.some((h) => h.X.is0()))
      throw new ProtocolAbort(undefined, 'refresh produced a degenerate share; retry');
    if (!G.multiply(x).equals(next.find((h) => h.id === ctx.self)!.X)) {
      throw new ProtocolAbort(undefined, 'refreshed share does not match its verification share');
    }
    const info = { threshold: share.info.threshold, publicKey: share.info.publicKey, holders: next };
    return {
      publicKey: info.publicKey.toBytes(true),
      publicInfo: encodePublicInfo(info),
      secretShare: encodeSecretShare({
        self: ctx.self,
        x,
        paillier: pre.paillier,
        ringPedersen: pre.ringPedersen,
        info,
      }),
    };
  }

  return {
    rounds: zero.rounds,
    round(r, inbound) {
      counter.enter(r);
      return r === 0 ? round0() : round1(inbound);
    },
    finish(inbound) {
      counter.finish();
      return finish(inbound);
    },
  };
}
