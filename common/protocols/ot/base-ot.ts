/**
 * Base oblivious transfer: the "Simplest OT" of Chou and Orlandi (LATINCRYPT 2015, ePrint
 * 2015/267), `count` 1-out-of-2 random OTs of 32-byte keys in two messages.
 *
 *   sender:   a ← Z_q, A = a·G, and a Schnorr proof of knowledge of a
 *   receiver: for each i with choice c_i: b_i ← Z_q, B_i = b_i·G + c_i·A; key_i = H(i, A, B_i, b_i·A)
 *   sender:   k0_i = H(i, A, B_i, a·B_i), k1_i = H(i, A, B_i, a·(B_i − A))
 *
 * The random oracle H is bound to the session (the ProofBinding's session tag, sender and
 * receiver) and the index, and the sender proves knowledge of a: without that proof a sender
 * that picks A maliciously can correlate the receiver's keys (the known weakness of the plain
 * protocol; the fix used by DKLs-style implementations).
 */
import { proveDlog, verifyDlog, type DlogProof } from '../../crypto/zk/schnorr.ts';
import type { ProofBinding } from '../../crypto/zk/transcript.ts';
import { taggedHash } from '../threshold/commitment.ts';
import { G, randomScalar, type Point } from '../threshold/scalars.ts';

export interface BaseOtSenderStart {
  readonly a: bigint;
  readonly A: Point;
  readonly proof: DlogProof;
}

export interface BaseOtSenderKeys {
  readonly k0: Uint8Array[];
  readonly k1: Uint8Array[];
}

export interface BaseOtReceiverKeys {
  /** B_i, sent to the sender. */
  readonly B: Point[];
  /** k_{c_i}, kept. */
  readonly keys: Uint8Array[];
}

function bindingTag(binding: ProofBinding): string {
  return `${binding.sessionId}|${binding.prover}->${binding.verifier ?? ''}`;
}

function oracle(binding: ProofBinding, i: number, A: Point, B: Point, shared: Point): Uint8Array {
  return taggedHash('ot/base', [
    bindingTag(binding),
    String(i),
    A.toBytes(true),
    B.toBytes(true),
    shared.toBytes(true),
  ]);
}

/** The sender's first (and only) message. `binding.prover` is the sender, `verifier` the receiver. */
export function baseOtStart(binding: ProofBinding): BaseOtSenderStart {
  const a = randomScalar();
  const A = G.multiply(a);
  return { a, A, proof: proveDlog(a, A, binding) };
}

/** Whether the sender's proof of knowledge of a holds. */
export function verifyBaseOtStart(binding: ProofBinding, A: Point, proof: DlogProof): boolean {
  return verifyDlog(A, proof, binding);
}

/**
 * The receiver's answer for choice bits `choices` (one per OT). Callers verify the sender's
 * proof first (verifyBaseOtStart) so that a failure names the sender.
 */
export function baseOtReceive(binding: ProofBinding, A: Point, choices: readonly boolean[]): BaseOtReceiverKeys {
  const B: Point[] = [];
  const keys: Uint8Array[] = [];
  // One table for the κ multiplications by the same A.
  const table = A.precompute(8, false);
  choices.forEach((c, i) => {
    const b = randomScalar();
    const bG = G.multiply(b);
    // Both candidates are computed so the work does not depend on the choice bit.
    const withA = bG.add(A);
    const Bi = c ? withA : bG;
    B.push(Bi);
    keys.push(oracle(binding, i, A, Bi, table.multiply(b)));
  });
  return { B, keys };
}

/** The sender's two keys per OT from the receiver's answer. */
export function baseOtFinish(binding: ProofBinding, start: BaseOtSenderStart, B: readonly Point[]): BaseOtSenderKeys {
  const k0: Uint8Array[] = [];
  const k1: Uint8Array[] = [];
  // a·(B_i − A) = a·B_i − a·A: one multiplication per OT.
  const aA = start.A.multiply(start.a);
  B.forEach((Bi, i) => {
    const aB = Bi.multiply(start.a);
    k0.push(oracle(binding, i, start.A, Bi, aB));
    k1.push(oracle(binding, i, start.A, Bi, aB.subtract(aA)));
  });
  return { k0, k1 };
}
