/**
 * GG18's share conversions MtA and MtAwc (Gennaro–Goldfeder, ePrint 2019/114, §3 and Appendix A)
 * between Alice, who holds k and c1 = Enc_A(k), and Bob, who holds x (γ or w):
 * Bob sends c2 = c1^x · Enc_A(β') and keeps -β' mod q; Alice decrypts α = k·x + β' and keeps it mod q.
 *
 * Sign of the plaintext. Bob's range proof (crypto/zk/mta.ts) has slack: from two accepting
 * transcripts the extractor gets x = Δs1/Δe and y = Δt1/Δe with |Δs1| <= q^3 and |Δt1| <= q^7, so
 * the proof bounds |x| <= q^3 and |y| <= q^7 but not their signs (GG18 Appendix A.2–A.3;
 * CGGMP21, ePrint 2021/060, §6 states the same slack for Πaff-g and decrypts in ±N/2). A Bob who
 * encrypts y = -Y (plaintext N - Y) passes it, and an unsigned decryption then wraps around N
 * exactly when k·x < Y: whether the session succeeds leaks a comparison bit of Alice's nonce
 * ("Alpha-Rays", Tymokhanov–Shlomovits 2021). Two measures close it:
 *
 * - Bob's mask is β' = S + b with b < q^5 and S = 2·q^7, and his proof is about b:
 *   c2 · Enc(-S; 1) = c1^x · Enc(b). The proof then confines β' to [S - q^7, S + q^7], which is
 *   positive, so a negative mask (the attack) fails the proof and names Bob, whatever k is.
 * - Alice decrypts into (-N/2, N/2] and refuses, naming Bob, a plaintext m with
 *   |m - S| > q^4 + q^7: her own k < q, |x| <= q^3 and |b| <= q^7 are what the proofs guarantee,
 *   and 3·q^7 + q^4 < 2^1795 < N/2 for N >= 2^2047, so no accepted value can wrap.
 *
 * Every outcome then depends only on Bob's choices, never on Alice's k.
 */
import { mod, randomBelow } from '../../crypto/bigint/index.ts';
import {
  addCiphertexts,
  decryptCentered,
  encrypt,
  multiplyCiphertext,
  type PaillierPublicKey,
  type PaillierSecretKey,
} from '../../crypto/paillier/index.ts';
import { proveBob, verifyBob, type BobProof, type BobStatement } from '../../crypto/zk/mta.ts';
import type { RingPedersenParams, RingPedersenSecret } from '../../crypto/zk/ring-pedersen.ts';
import type { ProofBinding } from '../../crypto/zk/transcript.ts';
import { ORDER, type Point } from './common.ts';

/** S: the offset of Bob's mask. */
export const MTA_OFFSET = 2n * ORDER ** 7n;
/** The largest |m - S| the proofs allow for Alice's plaintext m = k·x + S + b. */
export const MTA_SLACK = ORDER ** 4n + ORDER ** 7n;
const MASK_BOUND = ORDER ** 5n;

/** The statement Bob proves: c2 with the offset removed, c2 · (1 + N)^-S = c1^x · Enc(b). */
export function unshiftedStatement(pk: PaillierPublicKey, c1: bigint, c2: bigint, X?: Point): BobStatement {
  const minusOffset = mod(1n + mod(-MTA_OFFSET, pk.n) * pk.n, pk.n2);
  const c2b = mod(c2 * minusOffset, pk.n2);
  return X ? { pk, c1, c2: c2b, X } : { pk, c1, c2: c2b };
}

export interface BobMessage {
  readonly c2: bigint;
  readonly proof: BobProof;
}

/** Bob's side: the message for Alice and Bob's additive share -β' mod q. */
export function bobMta(
  pk: PaillierPublicKey,
  c1: bigint,
  x: bigint,
  X: Point | undefined,
  aliceParams: RingPedersenParams,
  binding: ProofBinding,
): BobMessage & { share: bigint } {
  const b = randomBelow(MASK_BOUND);
  const enc = encrypt(pk, MTA_OFFSET + b);
  const c2 = addCiphertexts(pk, multiplyCiphertext(pk, c1, x), enc.c);
  const proof = proveBob(unshiftedStatement(pk, c1, c2, X), x, b, enc.r, aliceParams, binding);
  return { c2, proof, share: mod(-(MTA_OFFSET + b), ORDER) };
}

export type AliceResult =
  { readonly ok: true; readonly share: bigint } | { readonly ok: false; readonly reason: 'proof' | 'range' };

/** Alice's side: checks Bob's proof and the plaintext's range; her additive share α mod q. */
export function aliceMta(
  sk: PaillierSecretKey,
  ownParams: RingPedersenSecret | RingPedersenParams,
  c1: bigint,
  msg: BobMessage,
  X: Point | undefined,
  binding: ProofBinding,
): AliceResult {
  let verified: boolean;
  try {
    verified = verifyBob(unshiftedStatement(sk, c1, msg.c2, X), ownParams, msg.proof, binding);
  } catch {
    verified = false;
  }
  if (!verified) return { ok: false, reason: 'proof' };
  const m = decryptCentered(sk, msg.c2);
  const distance = m - MTA_OFFSET;
  if (distance > MTA_SLACK || distance < -MTA_SLACK) return { ok: false, reason: 'range' };
  return { ok: true, share: mod(m, ORDER) };
}
