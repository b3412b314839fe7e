import { secp256k1 } from '@noble/curves/secp256k1.js';
import { InvalidPublicKeyError } from './errors.ts';

/** A validated secp256k1 public key in both SEC1 encodings. */
export interface Secp256k1PublicKey {
  compressed: Uint8Array;
  uncompressed: Uint8Array;
}

/** Accepts a 33-byte compressed or 65-byte uncompressed SEC1 key and checks it is on the curve. */
export function parseSecp256k1PublicKey(publicKey: Uint8Array): Secp256k1PublicKey {
  if (publicKey.length !== 33 && publicKey.length !== 65) {
    throw new InvalidPublicKeyError(
      `secp256k1 public key must be 33 bytes (compressed) or 65 bytes (uncompressed), got ${publicKey.length}`,
    );
  }
  let point;
  try {
    // fromBytes checks the prefix, the coordinate range and the curve equation; the identity has no SEC1 encoding.
    point = secp256k1.Point.fromBytes(publicKey);
    point.assertValidity();
  } catch (err) {
    throw new InvalidPublicKeyError(`secp256k1 public key is not a point on the curve: ${(err as Error).message}`);
  }
  return { compressed: point.toBytes(true), uncompressed: point.toBytes(false) };
}
