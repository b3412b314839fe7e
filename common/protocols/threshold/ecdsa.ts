/** ECDSA on secp256k1 as the threshold schemes release it: r‖s‖v, low s, v = 27 + recovery id. */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToBigInt } from '../../crypto/bigint/index.ts';
import { ProtocolAbort } from '../types.ts';
import { ORDER, modq, sameBytes, scalarBytes, type Point } from './scalars.ts';

/** The message hash as a scalar (bits2int for a 32-byte digest, then mod q). */
export function digestScalar(digest: Uint8Array): bigint {
  if (digest.length !== 32) throw new Error('ECDSA signs a 32-byte digest');
  return modq(bytesToBigInt(digest));
}

/** r = x(R) mod q. */
export function nonceX(R: Point): bigint {
  return modq(R.toAffine().x);
}

/** Low-s normalisation and recovery id; verifies before release (no invalid signature leaves). */
export function releaseSignature(R: Point, s: bigint, digest: Uint8Array, publicKey: Point): Uint8Array {
  if (s === 0n) throw new ProtocolAbort(undefined, 's is zero');
  const affine = R.toAffine();
  let recovery = (affine.y & 1n ? 1 : 0) | (affine.x >= ORDER ? 2 : 0);
  let lowS = s;
  if (s > ORDER >> 1n) {
    lowS = ORDER - s;
    recovery ^= 1;
  }
  const out = new Uint8Array(65);
  out.set(scalarBytes(nonceX(R)), 0);
  out.set(scalarBytes(lowS), 32);
  out[64] = 27 + recovery;
  if (!secp256k1.verify(out.subarray(0, 64), digest, publicKey.toBytes(true), { prehash: false })) {
    throw new ProtocolAbort(undefined, 'final signature does not verify');
  }
  return out;
}

/** r‖s‖v verifies with the standard verifier, has low s, and v ∈ {27, 28} recovers `publicKey`. */
export function verifyRecoverable(signature: Uint8Array, digest: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 65 || digest.length !== 32) return false;
  const v = signature[64]!;
  if (v !== 27 && v !== 28) return false;
  try {
    const compact = signature.subarray(0, 64);
    if (!secp256k1.verify(compact, digest, publicKey, { prehash: false, lowS: true })) return false;
    const recovered = secp256k1.Signature.fromBytes(compact)
      .addRecoveryBit(v - 27)
      .recoverPublicKey(digest);
    return sameBytes(recovered.toBytes(true), secp256k1.Point.fromBytes(publicKey).toBytes(true));
  } catch {
    return false;
  }
}
