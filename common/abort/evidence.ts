/**
 * Identifiable abort that cannot be faked (docs/security.md, "Identifiable abort"). A node that
 * names a culprit hands over evidence anyone holding the participants' certificates can check:
 *
 * - the culprit's envelopes of this session (and the other participants' broadcasts), each signed
 *   by its sender's certificate key and bound to session, round, sender and recipient, so the
 *   accuser can neither invent nor alter what the culprit said;
 * - when the culprit sent the accuser point-to-point envelopes, the pairwise session secret of the
 *   two (session-keys.ts), which opens their traffic of this one session and nothing else. One of
 *   the two is dishonest whenever an accusation is made, and that one knows every message between
 *   them already, so the reveal shows the judge no more than a corrupted party's view. It is not
 *   checked against the key exchange (X25519 has no proof of equality of discrete logarithms);
 *   it is checked by the culprit-signed ciphertext itself: each message key is HKDF of the secret
 *   and the envelope's AAD, so a false secret yields an unrelated AES-256-GCM key under which the
 *   culprit's tag verifies with probability about 2^-128.
 *
 * Secrets are revealed only for DKG keygen sessions of algorithms that judge them: signing
 * sessions are never opened (FROST and BLS signing have no point-to-point messages; GG18 aborts
 * stay unattributed).
 *
 * The judge checks all of that and then re-runs the protocol's own checks on the culprit's
 * messages (ThresholdScheme.judge). Guilty: the culprit is blamed. Refuted (forged evidence, or
 * messages that pass every check): the accuser is. Otherwise the abort is unattributed.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { decryptEnvelope, envelopeSignatureValid } from '../envelope/envelope.ts';
import type { PartyId, SentMessage, SessionContext, ThresholdScheme } from '../protocols/types.ts';
import type { Envelope, SessionKind } from '../rpc/tss-service.ts';

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
export const AbortEvidenceSchema = z
  .object({
    accuser: z.string().max(64),
    culprit: z.string().max(64),
    envelopes: z.array(WireEnvelopeSchema).max(256),
    /** The accuser's pairwise session secret with the culprit, hex; empty when nothing is revealed. */
    pair_secret: z.string().regex(/^([0-9a-f]{64})?$/),
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

/** Whether an accuser may reveal a pairwise session secret: DKG keygens of algorithms that judge them. */
export function mayRevealPairSecret(kind: SessionKind, scheme: ThresholdScheme): boolean {
  return kind === 'KEYGEN' && scheme.judge !== undefined;
}

/**
 * The evidence an accuser sends with an abort: the culprit's envelopes, everybody's broadcasts,
 * and (only where `mayRevealPairSecret`) the pairwise secret that opens the culprit's
 * point-to-point envelopes to the accuser.
 */
export function buildEvidence(input: {
  accuser: PartyId;
  culprit: PartyId;
  received: readonly Envelope[];
  pairSecret?: Uint8Array;
}): AbortEvidence {
  const { accuser, culprit, received, pairSecret } = input;
  const chosen = received.filter((e) => e.from === culprit || e.to === '');
  const opens = chosen.some((e) => e.from === culprit && e.to === accuser);
  return {
    accuser,
    culprit,
    envelopes: chosen.map(toWire),
    pair_secret: opens && pairSecret ? bytesToHex(pairSecret) : '',
  };
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
  kind: SessionKind;
  ctx: SessionContext;
  scheme: ThresholdScheme;
  certificateKey: (nodeId: PartyId) => KeyObject | undefined;
}): Judgement {
  const parsed = AbortEvidenceSchema.safeParse(input.evidence);
  if (!parsed.success) return { outcome: 'unattributed', reason: 'no evidence, or malformed evidence' };
  const { accuser, culprit } = parsed.data;
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
    if (!mayRevealPairSecret(input.kind, input.scheme)) {
      return { outcome: 'unattributed', reason: 'point-to-point messages of this session are never revealed' };
    }
    if (!parsed.data.pair_secret) return refuted(`envelope ${index} comes without the secret that opens it`);
    try {
      messages.push({
        from: env.from,
        round: env.round,
        to: env.to,
        payload: decryptEnvelope(env, hexToBytes(parsed.data.pair_secret)),
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
