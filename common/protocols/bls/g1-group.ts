/** The BLS12-381 G1 subgroup with the compressed (48-byte) encoding of the Zcash/IETF format. */
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { type WeierstrassPoint } from '@noble/curves/abstract/weierstrass.js';
import { bytesToHex } from '@noble/curves/utils.js';
import { DecodeError } from '../encoding.ts';
import { type PrimeOrderGroup } from '../frost/group.ts';
import { randomScalarBelow, strictScalar } from '../frost/scalars.ts';

export type G1Point = WeierstrassPoint<bigint>;
export type G2Point = WeierstrassPoint<import('@noble/curves/abstract/tower.js').Fp2>;

const G1 = bls12_381.G1.Point;
const G2 = bls12_381.G2.Point;
const Fr = bls12_381.fields.Fr;

/** Strict decoding of a compressed point: canonical, on the curve, in the subgroup, not infinity. */
function strictPoint<P extends WeierstrassPoint<unknown>>(
  bytes: Uint8Array,
  length: number,
  fromBytes: (b: Uint8Array) => P,
  what: string,
): P {
  if (bytes.length !== length)
    throw new DecodeError(`expected a ${length}-byte compressed ${what} point, got ${bytes.length}`);
  let p: P;
  try {
    p = fromBytes(bytes);
  } catch {
    throw new DecodeError(`not a valid ${what} point encoding`);
  }
  if (p.is0()) throw new DecodeError(`${what} point at infinity`);
  try {
    p.assertValidity();
  } catch {
    throw new DecodeError(`${what} point not on the curve`);
  }
  if (!p.isTorsionFree()) throw new DecodeError(`${what} point outside the prime-order subgroup`);
  // noble reduces some coordinates on input; accept only the one canonical encoding.
  if (bytesToHex(p.toBytes(true)) !== bytesToHex(bytes)) throw new DecodeError(`non-canonical ${what} encoding`);
  return p;
}

export const decodeG1 = (bytes: Uint8Array): G1Point => strictPoint(bytes, 48, (b) => G1.fromBytes(b), 'G1');
export const decodeG2 = (bytes: Uint8Array): G2Point => strictPoint(bytes, 96, (b) => G2.fromBytes(b), 'G2');

export const g1Group: PrimeOrderGroup<G1Point> = {
  name: 'bls12-381-g1',
  order: Fr.ORDER,
  scalarLength: 32,
  elementLength: 48,
  generator: G1.BASE,
  identity: G1.ZERO,
  encodeElement: (p) => p.toBytes(true),
  decodeElement: decodeG1,
  encodeScalar: (s) => Fr.toBytes(s),
  decodeScalar: (bytes) => strictScalar(bytes, 32, Fr.ORDER, 'be'),
  // RFC 9380 hash_to_field (expand_message_xmd, SHA-256, k = 128) reduced mod the group order.
  hashToScalar: (dst, msg) => bls12_381.G1.hashToScalar(msg, { DST: dst }),
  randomScalar: () => randomScalarBelow(Fr.ORDER),
};
