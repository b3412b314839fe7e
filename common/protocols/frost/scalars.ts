/** Scalar encodings shared by the groups: strict fixed-width decoding and uniform sampling. */
import { getMinHashLength } from '@noble/curves/abstract/modular.js';
import { bytesToNumberBE, bytesToNumberLE } from '@noble/curves/utils.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { DecodeError } from '../encoding.ts';

/** Decodes a `length`-byte scalar, rejecting values >= order (non-canonical encodings). */
export function strictScalar(bytes: Uint8Array, length: number, order: bigint, endian: 'le' | 'be'): bigint {
  if (bytes.length !== length) throw new DecodeError(`expected a ${length}-byte scalar, got ${bytes.length}`);
  const n = endian === 'le' ? bytesToNumberLE(bytes) : bytesToNumberBE(bytes);
  if (n >= order) throw new DecodeError('scalar is not reduced modulo the group order');
  return n;
}

/** A uniform scalar in [1, order): a wide random integer reduced mod order-1 (bias < 2^-128). */
export function randomScalarBelow(order: bigint): bigint {
  const wide = randomBytes(getMinHashLength(order));
  const n = (bytesToNumberBE(wide) % (order - 1n)) + 1n;
  wide.fill(0);
  return n;
}
