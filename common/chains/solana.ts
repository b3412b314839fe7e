import { ed25519 } from '@noble/curves/ed25519.js';
import { base58 } from '@scure/base';
import { InvalidPublicKeyError } from './errors.ts';

/** A Solana account address is the base58 of the 32-byte Ed25519 public key itself. */
export function solanaAddress(publicKey: Uint8Array): string {
  if (publicKey.length !== 32) {
    throw new InvalidPublicKeyError(`Ed25519 public key must be 32 bytes, got ${publicKey.length}`);
  }
  let point;
  try {
    point = ed25519.Point.fromBytes(publicKey);
  } catch (err) {
    throw new InvalidPublicKeyError(`Ed25519 public key is not a point on the curve: ${(err as Error).message}`);
  }
  // A small-order key (the identity among them) is not a key anyone holds a secret for.
  if (point.isSmallOrder()) throw new InvalidPublicKeyError('Ed25519 public key has small order');
  return base58.encode(publicKey);
}
