/**
 * Two-party multiplication with a random receiver input ("random VOLE", DKLs23 §3 Functionality
 * 3.5), realised as DKLs19 Protocol 1 (Doerner, Kondi, Lee, shelat, "Threshold ECDSA from ECDSA
 * Assumptions: The Multiparty Case", IEEE S&P 2019, ePrint 2019/523, §3) over the KOS correlated
 * OT, in the two-message form DKLs23 §5.1 describes; Alice (the sender) multiplies a vector of
 * L = 2 inputs by Bob's one random input b, using one batch of Bob's OTs for both ("forced reuse").
 *
 *   Bob:   β ← {0,1}^ξ, b = ⟨g, β⟩ (g: powers of two, then public random elements; ξ = κ + 2s)
 *          → OT extension message with choice bits β
 *   Alice: pads ã_l, check pads â_l; correlated OTs with correlations (ã_1, ã_2, â_1, â_2)
 *          χ̃_l, χ̂_l = H(transcript); r_{l,j} = χ̃_l·z̃_{l,j} + χ̂_l·ẑ_{l,j}; u_l = χ̃_l·ã_l + χ̂_l·â_l
 *          γ_l = a_l − ã_l; output c_l = ⟨g, z̃_l⟩; → τ, u, H(r), γ
 *   Bob:   check H(r) = H(β_j·u_l − χ̃_l·t̃_{l,j} − χ̂_l·t̂_{l,j}); output d_l = ⟨g, t̃_l⟩ + b·γ_l
 *
 * so that c_l + d_l = a_l·b. The check (DKLs19 Protocol 1 steps 4–6) catches an Alice that uses
 * different pads in different OTs, which would otherwise let her learn bits of β (and so of b)
 * from whether the protocol later fails (selective failure).
 */
import { ByteWriter, type ByteReader } from '../encoding.ts';
import {
  correlatedReceive,
  correlatedSend,
  extendReceive,
  extendSend,
  KAPPA,
  KOS_PADDING,
  type ExtReceiverMessage,
  type ExtReceiverSetup,
  type ExtSenderSetup,
} from '../ot/kos.ts';
import { readScalar, writeScalar } from '../threshold/codec.ts';
import { taggedHash } from '../threshold/commitment.ts';
import { modq, randomScalar, sameBytes, scalarBytes, scalarFromHash } from '../threshold/scalars.ts';
import { shake256 } from '@noble/hashes/sha3.js';
import { randomBytes } from 'node:crypto';

/** Alice's input length (DKLs23's L: the nonce share and the key share). */
export const L = 2;
/** ξ = κ_q + 2s with |q| = 256 and statistical security s = 80 (DKLs19 §3). */
export const XI = 256 + 2 * 80;
const M = XI + KOS_PADDING;

export interface BobKeep {
  readonly beta: readonly boolean[];
  readonly b: bigint;
  readonly rows: readonly Uint8Array[];
  readonly message: ExtReceiverMessage;
}

export interface AliceResponse {
  readonly tau: readonly (readonly bigint[])[];
  readonly u: readonly bigint[];
  readonly rHash: Uint8Array;
  readonly gamma: readonly bigint[];
}

function randomBits(n: number): boolean[] {
  const bytes = randomBytes(n);
  const out = [...bytes].map((b) => (b & 1) === 1);
  bytes.fill(0);
  return out;
}

/** The public gadget vector for `tag`: 2^0..2^255, then ξ − 256 hashed scalars. */
export function gadget(tag: string): bigint[] {
  const stream = shake256(taggedHash('dkls23/gadget', [tag]), { dkLen: 48 * (XI - 256) });
  const g: bigint[] = [];
  for (let j = 0; j < 256; j++) g.push(modq(1n << BigInt(j)));
  for (let j = 0; j < XI - 256; j++) g.push(scalarFromHash(stream.subarray(48 * j, 48 * (j + 1))));
  return g;
}

function inner(g: readonly bigint[], v: readonly bigint[]): bigint {
  let acc = 0n;
  for (let j = 0; j < v.length; j++) acc += g[j]! * v[j]!;
  return modq(acc);
}

function checkChallenges(tag: string, message: ExtReceiverMessage, tau: readonly (readonly bigint[])[]): bigint[] {
  const w = new ByteWriter();
  for (const c of message.u) w.bytes(c);
  w.bytes(message.xCheck).bytes(message.tCheck);
  for (const row of tau) for (const x of row) writeScalar(w, x);
  const seed = taggedHash('dkls23/mul-chi', [tag, w.finish()]);
  const stream = shake256(seed, { dkLen: 48 * 2 * L });
  return Array.from({ length: 2 * L }, (_, k) => scalarFromHash(stream.subarray(48 * k, 48 * (k + 1))));
}

function rDigest(tag: string, r: readonly (readonly bigint[])[]): Uint8Array {
  const w = new ByteWriter();
  for (const row of r) for (const x of row) w.bytes(scalarBytes(x));
  return taggedHash('dkls23/mul-r', [tag, w.finish()]);
}

/** Bob's first message; `b` (his random input) stays with him. */
export function bobStart(setup: ExtReceiverSetup, tag: string): { keep: BobKeep; message: ExtReceiverMessage } {
  const g = gadget(tag);
  const beta = randomBits(XI);
  const b = inner(
    g,
    beta.map((x) => (x ? 1n : 0n)),
  );
  const { message, rows } = extendReceive(setup, tag, beta, randomBits(KOS_PADDING));
  return { keep: { beta, b, rows, message }, message };
}

/**
 * Alice's answer for inputs `a` (length L) and her output shares c; false when Bob's OT extension
 * message fails the KOS check (Bob cheated; Alice sends nothing).
 */
export function aliceRespond(
  setup: ExtSenderSetup,
  tag: string,
  a: readonly bigint[],
  message: ExtReceiverMessage,
): { response: AliceResponse; c: bigint[] } | false {
  if (a.length !== L) throw new Error(`Alice multiplies exactly ${L} inputs`);
  const rows = extendSend(setup, tag, XI, message);
  if (!rows) return false;
  const aTilde = Array.from({ length: L }, randomScalar);
  const aHat = Array.from({ length: L }, randomScalar);
  const { z, tau } = correlatedSend(tag, setup.delta, rows, [...aTilde, ...aHat]);
  const chi = checkChallenges(tag, message, tau);
  const r = Array.from({ length: L }, (_, l) =>
    Array.from({ length: XI }, (_, j) => modq(chi[l]! * z[l]![j]! + chi[L + l]! * z[L + l]![j]!)),
  );
  const u = Array.from({ length: L }, (_, l) => modq(chi[l]! * aTilde[l]! + chi[L + l]! * aHat[l]!));
  const gamma = Array.from({ length: L }, (_, l) => modq(a[l]! - aTilde[l]!));
  const g = gadget(tag);
  const c = Array.from({ length: L }, (_, l) => inner(g, z[l]!));
  return { response: { tau, u, rHash: rDigest(tag, r), gamma }, c };
}

/** Bob's output shares d (c_l + d_l = a_l·b), or false when Alice's answer fails the check. */
export function bobFinish(keep: BobKeep, tag: string, response: AliceResponse): bigint[] | false {
  if (response.tau.length !== 2 * L || response.tau.some((row) => row.length !== XI)) return false;
  if (response.u.length !== L || response.gamma.length !== L) return false;
  const t = correlatedReceive(tag, keep.beta, keep.rows, response.tau);
  const chi = checkChallenges(tag, keep.message, response.tau);
  const r = Array.from({ length: L }, (_, l) =>
    Array.from({ length: XI }, (_, j) =>
      modq((keep.beta[j] ? response.u[l]! : 0n) - chi[l]! * t[l]![j]! - chi[L + l]! * t[L + l]![j]!),
    ),
  );
  if (!sameBytes(rDigest(tag, r), response.rHash)) return false;
  const g = gadget(tag);
  return Array.from({ length: L }, (_, l) => modq(inner(g, t[l]!) + keep.b * response.gamma[l]!));
}

export function writeExtMessage(w: ByteWriter, m: ExtReceiverMessage): void {
  for (const c of m.u) w.bytes(c);
  w.bytes(m.xCheck).bytes(m.tCheck);
}

export function readExtMessage(r: ByteReader): ExtReceiverMessage {
  const u = Array.from({ length: KAPPA }, () => r.bytes(M / 8));
  return { u, xCheck: r.bytes(16), tCheck: r.bytes(16) };
}

export function writeAliceResponse(w: ByteWriter, m: AliceResponse): void {
  for (const row of m.tau) for (const x of row) writeScalar(w, x);
  for (const x of m.u) writeScalar(w, x);
  w.bytes(m.rHash);
  for (const x of m.gamma) writeScalar(w, x);
}

export function readAliceResponse(r: ByteReader): AliceResponse {
  const tau = Array.from({ length: 2 * L }, () => Array.from({ length: XI }, () => readScalar(r)));
  const u = Array.from({ length: L }, () => readScalar(r));
  const rHash = r.bytes(32);
  const gamma = Array.from({ length: L }, () => readScalar(r));
  return { tau, u, rHash, gamma };
}
