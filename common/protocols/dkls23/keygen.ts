/**
 * DKLS23 key generation: the shared secp256k1 DKG (threshold/dkg.ts) plus, for every ordered pair
 * of holders, the base OTs of the pairwise multiplication (DKLs23 §3, "2P-MUL" setup; DKLs19 §3
 * OT setup). In the pair (alice = i, bob = j), j is the base-OT sender and i the receiver with
 * random choices Δ.
 *
 *   round 0 (broadcast): DKG commitment
 *           (p2p to j):  base-OT start for the pair (alice = j, bob = self): A and PoK of its log
 *   round 1 (broadcast): DKG reveal (opening, coefficients, PoK, echo)
 *           (p2p to j):  DKG share f_self(j); base-OT answer B_1..B_κ for (alice = self, bob = j)
 *   finish:              DKG checks; base-OT keys for (alice = j, bob = self)
 *
 * Every check names the party whose message failed it.
 */
import { randomBytes } from 'node:crypto';
import { ByteWriter, decodeAll } from '../encoding.ts';
import { baseOtFinish, baseOtReceive, baseOtStart, verifyBaseOtStart, type BaseOtSenderStart } from '../ot/base-ot.ts';
import { KAPPA, type ExtSenderSetup } from '../ot/kos.ts';
import { readPoint, readScalar, writePoint, writeScalar } from '../threshold/codec.ts';
import { proofBinding } from '../threshold/commitment.ts';
import {
  checkDkgContext,
  dkgGuilt,
  dkgReveal,
  finishDkg,
  readReveal,
  startDkg,
  writeReveal,
  type DkgReveal,
} from '../threshold/dkg.ts';
import { collectRound, parseFrom, RoundCounter } from '../threshold/parties.ts';
import type { Point } from '../threshold/scalars.ts';
import {
  ProtocolAbort,
  type AbortVerdict,
  type InboundMessage,
  type KeygenOutput,
  type MpcParty,
  type OutboundMessage,
  type PartyId,
  type RoundSpec,
  type SentMessage,
  type SessionContext,
} from '../types.ts';
import { encodePublicInfo, encodeSecretShare, type PeerOt } from './share.ts';
import type { DlogProof } from '../../crypto/zk/schnorr.ts';

export const PROTOCOL = 'dkls23';

const ROUNDS: readonly RoundSpec[] = [
  { broadcast: true, p2p: true },
  { broadcast: true, p2p: true },
];

/** Binding of the base OTs of the pair: the base-OT sender is Bob. */
export function baseOtBinding(ctx: SessionContext, alice: PartyId, bob: PartyId) {
  return proofBinding(`${PROTOCOL}/base-ot`, ctx, bob, alice);
}

interface OtStartMessage {
  readonly A: Point;
  readonly proof: DlogProof;
}

function encodeOtStart(m: OtStartMessage): Uint8Array {
  const w = new ByteWriter();
  writePoint(w, m.A);
  writePoint(w, m.proof.A);
  writeScalar(w, m.proof.z);
  return w.finish();
}

function decodeOtStart(from: PartyId, b: Uint8Array): OtStartMessage {
  return parseFrom(from, 'base-OT start', () =>
    decodeAll(b, (r) => ({ A: readPoint(r), proof: { A: readPoint(r), z: readScalar(r) } })),
  );
}

function encodeRound1P2p(share: bigint, B: readonly Point[]): Uint8Array {
  const w = new ByteWriter();
  writeScalar(w, share);
  for (const p of B) writePoint(w, p);
  return w.finish();
}

function decodeRound1P2p(from: PartyId, b: Uint8Array): { share: bigint; B: Point[] } {
  return parseFrom(from, 'keygen share', () =>
    decodeAll(b, (r) => ({ share: readScalar(r), B: Array.from({ length: KAPPA }, () => readPoint(r)) })),
  );
}

function randomChoices(): boolean[] {
  const bytes = randomBytes(KAPPA);
  const out = [...bytes].map((x) => (x & 1) === 1);
  bytes.fill(0);
  return out;
}

export function createKeygenParty(ctx: SessionContext): MpcParty<KeygenOutput> {
  checkDkgContext('DKLS23', ctx);
  const counter = new RoundCounter(ROUNDS.length);
  const others = ctx.parties.filter((p) => p !== ctx.self);
  const dkg = startDkg(PROTOCOL, ctx);
  /** Base-OT starts where self is Bob (one per other holder as Alice). */
  const otStarts = new Map<PartyId, BaseOtSenderStart>(
    others.map((alice) => [alice, baseOtStart(baseOtBinding(ctx, alice, ctx.self))]),
  );
  const commitments = new Map<PartyId, Uint8Array>([[ctx.self, dkg.commitment]]);
  const aliceSetups = new Map<PartyId, ExtSenderSetup>();

  return {
    rounds: ROUNDS,
    round(r: number, inbound: readonly InboundMessage[]): OutboundMessage[] {
      counter.enter(r);
      if (r === 0) {
        return [
          { payload: dkg.commitment },
          ...others.map((j) => {
            const s = otStarts.get(j)!;
            return { to: j, payload: encodeOtStart({ A: s.A, proof: s.proof }) };
          }),
        ];
      }
      const got = collectRound(ctx, ROUNDS[0]!, inbound);
      const out: OutboundMessage[] = [];
      const answers = new Map<PartyId, Point[]>();
      for (const j of others) {
        const commitment = got.get(j)!.broadcast!;
        if (commitment.length !== 32) throw new ProtocolAbort(j, 'malformed DKG commitment');
        commitments.set(j, commitment);
        const start = decodeOtStart(j, got.get(j)!.p2p!);
        const binding = baseOtBinding(ctx, ctx.self, j);
        if (!verifyBaseOtStart(binding, start.A, start.proof)) {
          throw new ProtocolAbort(j, 'base-OT proof of knowledge does not verify');
        }
        const delta = randomChoices();
        const answer = baseOtReceive(binding, start.A, delta);
        aliceSetups.set(j, { delta, keys: answer.keys });
        answers.set(j, answer.B);
      }
      const { reveal, shares } = dkgReveal(dkg, commitments);
      const w = new ByteWriter();
      writeReveal(w, reveal);
      out.push({ payload: w.finish() });
      for (const j of others) out.push({ to: j, payload: encodeRound1P2p(shares.get(j)!, answers.get(j)!) });
      return out;
    },
    finish(inbound: readonly InboundMessage[]): KeygenOutput {
      counter.finish();
      const got = collectRound(ctx, ROUNDS[1]!, inbound);
      const reveals = new Map<PartyId, DkgReveal>();
      const shares = new Map<PartyId, bigint>();
      const answers = new Map<PartyId, Point[]>();
      for (const j of others) {
        reveals.set(
          j,
          parseFrom(j, 'DKG reveal', () => decodeAll(got.get(j)!.broadcast!, readReveal)),
        );
        const p2p = decodeRound1P2p(j, got.get(j)!.p2p!);
        shares.set(j, p2p.share);
        answers.set(j, p2p.B);
      }
      const result = finishDkg(dkg, commitments, reveals, shares);
      const peers = new Map<PartyId, PeerOt>();
      for (const j of others) {
        const bob = baseOtFinish(baseOtBinding(ctx, j, ctx.self), otStarts.get(j)!, answers.get(j)!);
        peers.set(j, { alice: aliceSetups.get(j)!, bob });
      }
      const info = {
        threshold: ctx.threshold,
        holders: ctx.holders,
        publicKey: result.publicKey,
        verificationShares: result.verificationShares,
      };
      return {
        publicKey: result.publicKey.toBytes(true),
        publicInfo: encodePublicInfo(info),
        secretShare: encodeSecretShare({ self: ctx.self, x: result.share, info, peers }),
      };
    },
  };
}

/**
 * Judges an accusation of `accused` from its authenticated keygen messages (docs/security.md,
 * "Identifiable abort"): the DKG checks (threshold/dkg.ts dkgGuilt) and the base-OT proof and
 * answers it sent to the accuser. Signing aborts depend on Bob's secret choices and are not judged.
 */
export function judgeKeygen(
  ctx: SessionContext,
  accused: PartyId,
  accuser: PartyId,
  messages: readonly SentMessage[],
): AbortVerdict {
  if (!ctx.holders.includes(accused) || !ctx.holders.includes(accuser) || accused === accuser) return undefined;
  const find = (round: number, from: PartyId, to?: PartyId) =>
    messages.find((m) => m.round === round && m.from === from && m.to === to)?.payload;
  const round0 = new Map<PartyId, Uint8Array>();
  for (const m of messages) if (m.round === 0 && m.to === undefined) round0.set(m.from, m.payload);
  const guilty = (reason: string): AbortVerdict => ({ guilty: true, reason });
  const start = find(0, accused, accuser);
  if (start) {
    let msg: OtStartMessage;
    try {
      msg = decodeOtStart(accused, start);
    } catch (e) {
      return guilty((e as Error).message);
    }
    if (!verifyBaseOtStart(baseOtBinding(ctx, accuser, accused), msg.A, msg.proof)) {
      return guilty('base-OT proof of knowledge does not verify');
    }
  }
  let share: bigint | undefined;
  const p2p = find(1, accused, accuser);
  if (p2p) {
    try {
      share = decodeRound1P2p(accused, p2p).share;
    } catch (e) {
      return guilty((e as Error).message);
    }
  }
  const reveal = find(1, accused);
  if (!reveal) return undefined;
  const reason = dkgGuilt(PROTOCOL, ctx, accused, accuser, { round0, reveal }, share);
  return reason ? guilty(reason) : { guilty: false, reason: `the messages of ${accused} pass every keygen check` };
}
