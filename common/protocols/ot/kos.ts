/**
 * OT extension: IKNP (Ishai–Kilian–Nissim–Petrank 2003) with the consistency check of Keller,
 * Orsini and Scholl ("Actively Secure OT Extension with Optimal Overhead", CRYPTO 2015, ePrint
 * 2015/546, §3 / Fig. 7), turned into correlated OT over Z_q (the "OT_ext" DKLs19 §3 uses).
 *
 * Roles: the extension *receiver* was the base-OT sender (it holds both seeds of every base OT);
 * the extension *sender* was the base-OT receiver with choice bits Δ (it holds one seed each).
 * The seeds are set up once per key and pair; every session expands them under its own session
 * tag, so no two sessions share pads.
 *
 *   receiver: t0_i = PRG(k0_i), t1_i = PRG(k1_i), u_i = t0_i ⊕ t1_i ⊕ x          (column i < κ)
 *             KOS check: χ_j = H(tag, u), x̃ = Σ x_j·χ_j, t̃ = Σ t_j·χ_j over GF(2^128)
 *   sender:   q_i = PRG(k_{Δ_i}) ⊕ Δ_i·u_i; rows q_j = t_j ⊕ x_j·Δ; accepts iff Σ q_j·χ_j = t̃ ⊕ x̃·Δ
 *
 * The check stops a receiver that uses different choice bits in different columns (which would
 * let it learn bits of Δ and so the sender's other pads). x carries κ + s random padding bits
 * that are never used, so x̃ reveals nothing about the real choices.
 *
 * Correlated OT over Z_q, width W (correlations α_0..α_{W−1}, one scalar each for the whole batch):
 *   sender:   v0 = H(tag, j, q_j), v1 = H(tag, j, q_j ⊕ Δ) (W scalars each);
 *             output z_{k,j} = −v0_k; send τ_{k,j} = v0_k − v1_k + α_k
 *   receiver: output t_{k,j} = H(tag, j, t_j)_k + x_j·τ_{k,j}      so that z + t = x_j·α_k.
 */
import { shake256 } from '@noble/hashes/sha3.js';
import { encodeTranscript } from '../encoding.ts';
import { taggedHash } from '../threshold/commitment.ts';
import { modq, scalarFromHash } from '../threshold/scalars.ts';
import { gfFromBytes, gfMul, gfToBytes, clmul, reduce } from './gf128.ts';

/** Computational security parameter: number of base OTs and width of a row (bits). */
export const KAPPA = 128;
/** Statistical padding beyond κ for the KOS check. */
export const KOS_PADDING = KAPPA + 64;
const ROW = KAPPA / 8;

/** What the extension receiver keeps from the base OTs (it was their sender). */
export interface ExtReceiverSetup {
  readonly k0: readonly Uint8Array[];
  readonly k1: readonly Uint8Array[];
}

/** What the extension sender keeps from the base OTs (it was their receiver with choices Δ). */
export interface ExtSenderSetup {
  readonly delta: readonly boolean[];
  readonly keys: readonly Uint8Array[];
}

/** The receiver's message: the column corrections and the KOS check values. */
export interface ExtReceiverMessage {
  readonly u: readonly Uint8Array[];
  readonly xCheck: Uint8Array;
  readonly tCheck: Uint8Array;
}

function prg(seed: Uint8Array, tag: string, bytes: number): Uint8Array {
  return shake256(encodeTranscript(['custos/ot/prg', tag, seed]), { dkLen: bytes });
}

function getBit(b: Uint8Array, i: number): number {
  return (b[i >> 3]! >> (i & 7)) & 1;
}

/** Packs booleans into bytes, bit i of the result is v[i]. */
export function packBits(v: readonly boolean[]): Uint8Array {
  const out = new Uint8Array(Math.ceil(v.length / 8));
  v.forEach((bit, i) => {
    if (bit) out[i >> 3]! |= 1 << (i & 7);
  });
  return out;
}

/** κ columns of m bits each → m rows of κ bits each. */
function transpose(columns: readonly Uint8Array[], m: number): Uint8Array[] {
  const rows = Array.from({ length: m }, () => new Uint8Array(ROW));
  for (let i = 0; i < KAPPA; i++) {
    const col = columns[i]!;
    const byte = i >> 3;
    const bit = 1 << (i & 7);
    for (let j = 0; j < m; j++) if ((col[j >> 3]! >> (j & 7)) & 1) rows[j]![byte]! |= bit;
  }
  return rows;
}

function challenges(tag: string, u: readonly Uint8Array[], m: number): bigint[] {
  const seed = taggedHash('ot/kos-chi', [tag, ...u]);
  const stream = shake256(seed, { dkLen: m * ROW });
  return Array.from({ length: m }, (_, j) => gfFromBytes(stream.subarray(j * ROW, (j + 1) * ROW)));
}

function xorInto(a: Uint8Array, b: Uint8Array): void {
  for (let k = 0; k < a.length; k++) a[k]! ^= b[k]!;
}

/**
 * Receiver: extends to `choices.length` OTs (plus the KOS padding, chosen here) under `tag`.
 * Returns the message for the sender and the rows t_j of the real choices.
 */
export function extendReceive(
  setup: ExtReceiverSetup,
  tag: string,
  choices: readonly boolean[],
  padding: readonly boolean[],
): { message: ExtReceiverMessage; rows: Uint8Array[] } {
  if (padding.length !== KOS_PADDING) throw new Error(`KOS padding must be ${KOS_PADDING} bits`);
  const all = [...choices, ...padding];
  const m = all.length;
  if (m % 8 !== 0) throw new Error('extension length must be a multiple of 8');
  const x = packBits(all);
  const t0: Uint8Array[] = [];
  const u: Uint8Array[] = [];
  for (let i = 0; i < KAPPA; i++) {
    const c0 = prg(setup.k0[i]!, tag, m / 8);
    const ui = prg(setup.k1[i]!, tag, m / 8);
    xorInto(ui, c0);
    xorInto(ui, x);
    t0.push(c0);
    u.push(ui);
  }
  const rows = transpose(t0, m);
  const chi = challenges(tag, u, m);
  let xCheck = 0n;
  let tAcc = 0n;
  for (let j = 0; j < m; j++) {
    if (getBit(x, j)) xCheck ^= chi[j]!;
    tAcc ^= clmul(gfFromBytes(rows[j]!), chi[j]!);
  }
  x.fill(0);
  return {
    message: { u, xCheck: gfToBytes(xCheck), tCheck: gfToBytes(reduce(tAcc)) },
    rows: rows.slice(0, choices.length),
  };
}

/**
 * Sender: the rows q_j (j < count) after the KOS check; false when the check fails (the
 * receiver used inconsistent choice bits), in which case nothing may be sent.
 */
export function extendSend(
  setup: ExtSenderSetup,
  tag: string,
  count: number,
  message: ExtReceiverMessage,
): Uint8Array[] | false {
  const m = count + KOS_PADDING;
  if (message.u.length !== KAPPA || message.u.some((c) => c.length !== m / 8)) return false;
  const columns: Uint8Array[] = [];
  for (let i = 0; i < KAPPA; i++) {
    const qi = prg(setup.keys[i]!, tag, m / 8);
    if (setup.delta[i]) xorInto(qi, message.u[i]!);
    columns.push(qi);
  }
  const rows = transpose(columns, m);
  const chi = challenges(tag, message.u, m);
  let qAcc = 0n;
  for (let j = 0; j < m; j++) qAcc ^= clmul(gfFromBytes(rows[j]!), chi[j]!);
  const delta = gfFromBytes(packBits(setup.delta));
  const expected = gfFromBytes(message.tCheck) ^ gfMul(gfFromBytes(message.xCheck), delta);
  if (reduce(qAcc) !== expected) return false;
  return rows.slice(0, count);
}

/** W scalars from one row: H(tag, j, row) read as W uniform scalars. */
function rowScalars(tag: string, j: number, row: Uint8Array, width: number): bigint[] {
  const stream = shake256(encodeTranscript(['custos/ot/cot', tag, String(j), row]), { dkLen: 48 * width });
  return Array.from({ length: width }, (_, k) => scalarFromHash(stream.subarray(48 * k, 48 * (k + 1))));
}

/** Sender side of correlated OT: outputs z[k][j] and the corrections τ[k][j] for the receiver. */
export function correlatedSend(
  tag: string,
  deltaBits: readonly boolean[],
  rows: readonly Uint8Array[],
  correlations: readonly bigint[],
): { z: bigint[][]; tau: bigint[][] } {
  const W = correlations.length;
  const delta = packBits(deltaBits);
  const z = Array.from({ length: W }, () => new Array<bigint>(rows.length));
  const tau = Array.from({ length: W }, () => new Array<bigint>(rows.length));
  rows.forEach((q, j) => {
    const flipped = q.slice();
    xorInto(flipped, delta);
    const v0 = rowScalars(tag, j, q, W);
    const v1 = rowScalars(tag, j, flipped, W);
    for (let k = 0; k < W; k++) {
      z[k]![j] = modq(-v0[k]!);
      tau[k]![j] = modq(v0[k]! - v1[k]! + correlations[k]!);
    }
  });
  return { z, tau };
}

/** Receiver side of correlated OT: t[k][j] with z[k][j] + t[k][j] = x_j·α_k. */
export function correlatedReceive(
  tag: string,
  choices: readonly boolean[],
  rows: readonly Uint8Array[],
  tau: readonly (readonly bigint[])[],
): bigint[][] {
  const W = tau.length;
  const t = Array.from({ length: W }, () => new Array<bigint>(rows.length));
  rows.forEach((row, j) => {
    const v = rowScalars(tag, j, row, W);
    for (let k = 0; k < W; k++) t[k]![j] = choices[j] ? modq(v[k]! + tau[k]![j]!) : v[k]!;
  });
  return t;
}
