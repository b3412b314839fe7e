/**
 * FROST(Ed25519, SHA-512) signing, RFC 9591 §4–§5, over already-validated points. Pure functions;
 * element and scalar encodings and the hash functions H1–H5 are those of RFC 9591 §6.1.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { type EdwardsPoint } from '@noble/curves/abstract/edwards.js';
import { mod } from '@noble/curves/abstract/modular.js';
import { bytesToNumberLE, concatBytes } from '@noble/curves/utils.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { lagrangeAtZero } from './group.ts';

const Point = ed25519.Point;
const L = Point.Fn.ORDER;
const CONTEXT = 'FROST-ED25519-SHA512-v1';
const utf8 = (s: string) => new TextEncoder().encode(s);
const [RHO, NONCE, MSG, COM] = ['rho', 'nonce', 'msg', 'com'].map((tag) => utf8(CONTEXT + tag)) as [
  Uint8Array,
  Uint8Array,
  Uint8Array,
  Uint8Array,
];

const toScalar = (digest: Uint8Array): bigint => mod(bytesToNumberLE(digest), L);
const H1 = (m: Uint8Array) => toScalar(sha512(concatBytes(RHO, m)));
/** H2 has no prefix, so FROST signatures are RFC 8032 signatures. */
const H2 = (m: Uint8Array) => toScalar(sha512(m));
const H3 = (m: Uint8Array) => toScalar(sha512(concatBytes(NONCE, m)));
const H4 = (m: Uint8Array) => sha512(concatBytes(MSG, m));
const H5 = (m: Uint8Array) => sha512(concatBytes(COM, m));

export const encodeScalar = (s: bigint): Uint8Array => Point.Fn.toBytes(s);

/** A signer's published commitment pair. */
export interface NonceCommitment {
  readonly index: number;
  readonly hiding: EdwardsPoint;
  readonly binding: EdwardsPoint;
}

export interface SigningNonces {
  readonly hiding: bigint;
  readonly binding: bigint;
}

/** §4.1 nonce_generate: H3(random_bytes(32) || SerializeScalar(secret)). */
export function nonceGenerate(secret: bigint, random: Uint8Array = randomBytes(32)): bigint {
  const secretBytes = encodeScalar(secret);
  try {
    return H3(concatBytes(random, secretBytes));
  } finally {
    secretBytes.fill(0);
    random.fill(0);
  }
}

/** §5.1 commit: fresh hiding and binding nonces and their commitments. */
export function commit(
  index: number,
  secret: bigint,
  random: () => Uint8Array = () => randomBytes(32),
): { nonces: SigningNonces; commitment: NonceCommitment } {
  const hiding = nonceGenerate(secret, random());
  const binding = nonceGenerate(secret, random());
  return {
    nonces: { hiding, binding },
    commitment: { index, hiding: Point.BASE.multiply(hiding), binding: Point.BASE.multiply(binding) },
  };
}

/** §4.3 encode_group_commitment_list; `list` must be sorted by index. */
function encodeCommitmentList(list: readonly NonceCommitment[]): Uint8Array {
  return concatBytes(...list.flatMap((c) => [encodeScalar(BigInt(c.index)), c.hiding.toBytes(), c.binding.toBytes()]));
}

/** Everything the signers and the aggregator derive from the commitment list (§4.4–§4.6). */
export interface SigningPackage {
  readonly bindingFactors: ReadonlyMap<number, bigint>;
  readonly groupCommitment: EdwardsPoint;
  readonly challenge: bigint;
  readonly lambdas: ReadonlyMap<number, bigint>;
}

export function signingPackage(
  groupKey: EdwardsPoint,
  list: readonly NonceCommitment[],
  message: Uint8Array,
): SigningPackage {
  for (let k = 1; k < list.length; k++) {
    if (list[k]!.index <= list[k - 1]!.index) throw new RangeError('commitment list must be sorted and unique');
  }
  const groupKeyBytes = groupKey.toBytes();
  const prefix = concatBytes(groupKeyBytes, H4(message), H5(encodeCommitmentList(list)));
  const bindingFactors = new Map(list.map((c) => [c.index, H1(concatBytes(prefix, encodeScalar(BigInt(c.index))))]));
  const groupCommitment = list.reduce(
    (acc, c) => acc.add(c.hiding).add(c.binding.multiplyUnsafe(bindingFactors.get(c.index)!)),
    Point.ZERO,
  );
  const challenge = H2(concatBytes(groupCommitment.toBytes(), groupKeyBytes, message));
  const indices = list.map((c) => BigInt(c.index));
  const lambdas = new Map(list.map((c) => [c.index, lagrangeAtZero(indices, BigInt(c.index), L)]));
  return { bindingFactors, groupCommitment, challenge, lambdas };
}

/** §5.2 sign: z_i = d_i + e_i·ρ_i + λ_i·s_i·c. */
export function signShare(index: number, secret: bigint, nonces: SigningNonces, pkg: SigningPackage): bigint {
  const rho = pkg.bindingFactors.get(index);
  const lambda = pkg.lambdas.get(index);
  if (rho === undefined || lambda === undefined) throw new RangeError(`signer ${index} is not in the commitment list`);
  return mod(nonces.hiding + nonces.binding * rho + lambda * secret * pkg.challenge, L);
}

/** The right-hand side of §5.4 verify_signature_share: D_i + ρ_i·E_i + (c·λ_i)·Y_i. */
function shareCommitment(c: NonceCommitment, verificationShare: EdwardsPoint, pkg: SigningPackage): EdwardsPoint {
  return c.hiding
    .add(c.binding.multiplyUnsafe(pkg.bindingFactors.get(c.index)!))
    .add(verificationShare.multiplyUnsafe(mod(pkg.challenge * pkg.lambdas.get(c.index)!, L)));
}

/** §5.4 verify_signature_share for one signer. */
export function verifyShare(
  c: NonceCommitment,
  z: bigint,
  verificationShare: EdwardsPoint,
  pkg: SigningPackage,
): boolean {
  return Point.BASE.multiplyUnsafe(z).equals(shareCommitment(c, verificationShare, pkg));
}

/** §5.3 aggregate: the signature R || z with z = Σ z_i. */
export function aggregate(pkg: SigningPackage, zs: readonly bigint[]): Uint8Array {
  const z = zs.reduce((acc, x) => mod(acc + x, L), 0n);
  return concatBytes(pkg.groupCommitment.toBytes(), encodeScalar(z));
}
