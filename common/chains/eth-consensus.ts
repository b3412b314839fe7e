import { bls12_381 } from '@noble/curves/bls12-381.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { InvalidPublicKeyError } from './errors.ts';

/** Ethereum consensus (BLS12-381, keys in G1): the validator key is the 48-byte compressed G1 point. */
export function ethConsensusPublicKey(publicKey: Uint8Array): string {
  if (publicKey.length !== 48) {
    throw new InvalidPublicKeyError(`BLS12-381 public key must be 48 bytes (compressed G1), got ${publicKey.length}`);
  }
  let point;
  try {
    point = bls12_381.G1.Point.fromBytes(publicKey);
    point.assertValidity(); // on the curve and in the prime-order subgroup
  } catch (err) {
    throw new InvalidPublicKeyError(`BLS12-381 public key is not a valid G1 point: ${(err as Error).message}`);
  }
  if (point.is0()) throw new InvalidPublicKeyError('BLS12-381 public key is the identity point');
  return '0x' + bytesToHex(publicKey);
}
