/**
 * Identifiable abort that cannot be faked (docs/security.md, "Identifiable abort"). A node that
 * names a culprit hands over evidence anyone holding the participants' certificates can check:
 *
 * - the culprit's envelopes of this session (and the other participants' broadcasts), each signed
 *   by its sender's certificate key and bound to session, round, sender and recipient, so the
 *   accuser can neither invent nor alter what the culprit said;
 * - for each of the culprit's point-to-point envelopes to the accuser, the ECDH shared point
 *   Z = d·E (d: the accuser's key, E: the envelope's ephemeral key) with a Chaum–Pedersen proof
 *   that log_G(D) = log_E(Z). Z opens that one envelope and no other (the key derivation binds
 *   E and the envelope's session, round, sender and recipient). It is revealed only for envelopes
 *   that decrypted, i.e. whose sender knew Z already, so it tells the culprit nothing and gives
 *   nobody a decryption oracle for the accuser's key.
 *
 * The judge checks all of that and then re-runs the protocol's own checks on the culprit's
 * messages (ThresholdScheme.judge). Guilty: the culprit is blamed. Refuted (forged evidence, or
 * messages that pass every check): the accuser is. Otherwise the abort is unattributed.
 */
import { p256 } from '@noble/curves/nist.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { randomBytes, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import {
  decryptWithSharedSecret,
  envelopeSignatureValid,
  rawPublicKey,
  type EnvelopeKeys,
} from '../envelope/envelope.ts';
import type { PartyId, SentMessage, SessionContext, ThresholdScheme } from '../protocols/types.ts';
import type { Envelope } from '../rpc/tss-service.ts';

const Point = p256.Point;
const ORDER = Point.Fn.ORDER;
const DLEQ_DST = 'custos-abort-reveal-dleq-v1';

const HexSchema = z
  .string()
  .regex(/^[0-9a-f]*$/)
  .max(2_000_000);
const WireEnvelopeSchema = z
  .object({
    session_id: z.string().max(256),
    round: z.number().int().min(0).max(1000),
    from: z.string().max(64),
    to: z.string().max(64),
    body: HexSchema,
    ephemeral_public_key: HexSchema,
    iv: HexSchema,
    signature: HexSchema,
  })
  .strict();
const RevealSchema = z
  .object({ envelope: z.number().int().min(0), shared_point: HexSchema, c: HexSchema, s: HexSchema })
  .strict();
export const AbortEvidenceSchema = z
  .object({
    accuser: z.string().max(64),
    culprit: z.string().max(64),
    envelopes: z.array(WireEnvelopeSchema).max(256),
    reveals: z.array(RevealSchema).max(64),
  })
  .strict();
export type AbortEvidence = z.infer<typeof AbortEvidenceSchema>;

const toWire = (e: Envelope) => ({
  session_id: e.session_id,
  round: e.round,
  from: e.from,
  to: e.to,
  body: bytesToHex(e.body),
  ephemeral_public_key: bytesToHex(e.ephemeral_public_key),
  iv: bytesToHex(e.iv),
  signature: bytesToHex(e.signature),
});
const fromWire = (w: z.infer<typeof WireEnvelopeSchema>): Envelope => ({
  session_id: w.session_id,
  round: w.round,
  from: w.from,
  to: w.to,
  body: hexToBytes(w.body),
  ephemeral_public_key: hexToBytes(w.ephemeral_public_key),
  iv: hexToBytes(w.iv),
  signature: hexToBytes(w.signature),
});

function challenge(points: readonly InstanceType<typeof Point>[], context: Uint8Array): bigint {
  const parts = [new TextEncoder().encode(DLEQ_DST), context, ...points.map((p) => p.toBytes(true))];
  const h = sha256(Uint8Array.from(parts.flatMap((p) => [...p])));
  return BigInt(`0x${bytesToHex(h)}`) % ORDER;
}

function scalarOf(keys: EnvelopeKeys): bigint {
  return BigInt(`0x${keys.ecdh.getPrivateKey('hex')}`);
}

/** Chaum–Pedersen proof that Z = d·E for the d with D = d·G, bound to `context`. */
export function proveSharedPoint(keys: EnvelopeKeys, ephemeral: Uint8Array, context: Uint8Array) {
  const d = scalarOf(keys);
  const E = Point.fromBytes(ephemeral);
  const D = Point.BASE.multiply(d);
  const Z = E.multiply(d);
  const k = (BigInt(`0x${randomBytes(48).toString('hex')}`) % (ORDER - 1n)) + 1n;
  const c = challenge([D, E, Z, Point.BASE.multiply(k), E.multiply(k)], context);
  const s = (k + c * d) % ORDER;
  return { sharedPoint: Z.toBytes(true), c, s };
}

/** Verifies the proof; returns Z's x-coordinate (the ECDH secret) when it holds. */
export function verifySharedPoint(
  recipientKey: KeyObject,
  ephemeral: Uint8Array,
  reveal: { shared_point: string; c: string; s: string },
  context: Uint8Array,
): Uint8Array | undefined {
  try {
    const D = Point.fromBytes(rawPublicKey(recipientKey));
    const E = Point.fromBytes(ephemeral);
    const Z = Point.fromBytes(hexToBytes(reveal.shared_point));
    const c = BigInt(`0x${reveal.c || '0'}`);
    const s = BigInt(`0x${reveal.s || '0'}`);
    if (c >= ORDER || s <= 0n || s >= ORDER) return undefined;
    const A1 = Point.BASE.multiply(s).subtract(D.multiplyUnsafe(c));
    const A2 = E.multiply(s).subtract(Z.multiplyUnsafe(c));
    if (challenge([D, E, Z, A1, A2], context) !== c) return undefined;
    return Z.toBytes(false).subarray(1, 33);
  } catch {
    return undefined;
  }
}

/** Binds a reveal to the one envelope it opens. */
const revealContext = (env: Envelope) => sha256(Uint8Array.from([...env.signature, ...env.ephemeral_public_key]));

/**
 * The evidence an accuser sends with an abort: the culprit's envelopes, everybody's broadcasts,
 * and a proven reveal for each of the culprit's point-to-point envelopes to the accuser.
 */
export function buildEvidence(keys: EnvelopeKeys, culprit: PartyId, received: readonly Envelope[]): AbortEvidence {
  const chosen = received.filter((e) => e.from === culprit || e.to === '');
  const reveals = chosen.flatMap((env, index) => {
    if (env.from !== culprit || env.to !== keys.nodeId) return [];
    const proof = proveSharedPoint(keys, env.ephemeral_public_key, revealContext(env));
    return [
      {
        envelope: index,
        shared_point: bytesToHex(proof.sharedPoint),
        c: proof.c.toString(16),
        s: proof.s.toString(16),
      },
    ];
  });
  return { accuser: keys.nodeId, culprit, envelopes: chosen.map(toWire), reveals };
}

export type Judgement =
  | { readonly outcome: 'guilty'; readonly culprit: PartyId; readonly reason: string }
  | { readonly outcome: 'refuted'; readonly falseAccuser: PartyId; readonly reason: string }
  | { readonly outcome: 'unattributed'; readonly reason: string };

/**
 * Judges an accusation. `certificateKey` gives a participant's certificate public key (what
 * verified its envelopes); `ctx` is the session as every participant ran it.
 */
export function judgeAccusation(input: {
  evidence: unknown;
  sessionId: string;
  kind: 'KEYGEN' | 'SIGN';
  ctx: SessionContext;
  scheme: ThresholdScheme;
  certificateKey: (nodeId: PartyId) => KeyObject | undefined;
}): Judgement {
  const parsed = AbortEvidenceSchema.safeParse(input.evidence);
  if (!parsed.success) return { outcome: 'unattributed', reason: 'no evidence, or malformed evidence' };
  const { accuser, culprit, reveals } = parsed.data;
  const parties = input.ctx.parties;
  if (!parties.includes(accuser) || !parties.includes(culprit) || accuser === culprit) {
    return { outcome: 'unattributed', reason: 'accuser or culprit is not a participant' };
  }
  const refuted = (reason: string): Judgement => ({ outcome: 'refuted', falseAccuser: accuser, reason });
  let envelopes: Envelope[];
  try {
    envelopes = parsed.data.envelopes.map(fromWire);
  } catch {
    return refuted('evidence envelopes do not decode');
  }
  const messages: SentMessage[] = [];
  for (const [index, env] of envelopes.entries()) {
    const sender = input.certificateKey(env.from);
    if (env.session_id !== input.sessionId || !sender || !parties.includes(env.from)) {
      return refuted(`evidence envelope ${index} is not from this session's participants`);
    }
    if (!envelopeSignatureValid(env, sender)) return refuted(`evidence envelope ${index} is not signed by ${env.from}`);
    if (env.to === '') {
      messages.push({ from: env.from, round: env.round, payload: Uint8Array.from(env.body) });
      continue;
    }
    if (env.from !== culprit || env.to !== accuser) continue;
    const reveal = reveals.find((r) => r.envelope === index);
    const accuserKey = input.certificateKey(accuser)!;
    const shared = reveal && verifySharedPoint(accuserKey, env.ephemeral_public_key, reveal, revealContext(env));
    if (!shared) return refuted(`envelope ${index} comes without a valid proof of its decryption`);
    try {
      messages.push({
        from: env.from,
        round: env.round,
        to: env.to,
        payload: decryptWithSharedSecret(env, accuserKey, shared),
      });
    } catch {
      return refuted(`the revealed secret does not open envelope ${index}`);
    }
  }
  // Two different signed messages for one round and recipient: equivocation, whatever the protocol.
  const seen = new Map<string, string>();
  for (const env of envelopes.filter((e) => e.from === culprit)) {
    const slot = `${env.round}|${env.to}`;
    const body = bytesToHex(env.body) + bytesToHex(env.ephemeral_public_key);
    const earlier = seen.get(slot);
    if (earlier !== undefined && earlier !== body) {
      return { outcome: 'guilty', culprit, reason: `signed two different round-${env.round} messages` };
    }
    seen.set(slot, body);
  }
  const verdict = input.scheme.judge?.(input.ctx, input.kind, culprit, accuser, messages);
  if (!verdict)
    return { outcome: 'unattributed', reason: `${input.scheme.algo} cannot judge this abort from public data` };
  return verdict.guilty
    ? { outcome: 'guilty', culprit, reason: verdict.reason }
    : refuted(`accusation of ${culprit} refuted: ${verdict.reason}`);
}
