/** The Ed25519 prime-order subgroup with RFC 9591's strict element and scalar encodings. */
import { ed25519, ed25519_hasher } from '@noble/curves/ed25519.js';
import { type EdwardsPoint } from '@noble/curves/abstract/edwards.js';
import { bytesToHex } from '@noble/curves/utils.js';
import { randomScalarBelow, strictScalar } from './scalars.ts';
import { DecodeError } from '../encoding.ts';
import { type PrimeOrderGroup } from './group.ts';

const Point = ed25519.Point;
const Fn = Point.Fn;

function decodeElement(bytes: Uint8Array): EdwardsPoint {
  if (bytes.length !== 32) throw new DecodeError(`expected a 32-byte element, got ${bytes.length}`);
  let p: EdwardsPoint;
  try {
    // zip215 = false: RFC 8032 canonical decoding (y < p, no negative zero).
    p = Point.fromBytes(bytes, false);
  } catch {
    throw new DecodeError('not a valid Ed25519 point encoding');
  }
  if (p.is0()) throw new DecodeError('identity element');
  try {
    p.assertValidity();
  } catch {
    throw new DecodeError('point not on the curve');
  }
  if (!p.isTorsionFree()) throw new DecodeError('point outside the prime-order subgroup');
  if (bytesToHex(p.toBytes()) !== bytesToHex(bytes)) throw new DecodeError('non-canonical encoding');
  return p;
}

export const ed25519Group: PrimeOrderGroup<EdwardsPoint> = {
  name: 'ed25519',
  order: Fn.ORDER,
  scalarLength: 32,
  elementLength: 32,
  generator: Point.BASE,
  identity: Point.ZERO,
  encodeElement: (p) => p.toBytes(),
  decodeElement,
  encodeScalar: (s) => Fn.toBytes(s),
  decodeScalar: (bytes) => strictScalar(bytes, 32, Fn.ORDER, 'le'),
  // RFC 9380 hash_to_field (expand_message_xmd, SHA-512, k = 128) reduced mod the group order.
  hashToScalar: (dst, msg) => ed25519_hasher.hashToScalar(msg, { DST: dst }),
  randomScalar: () => randomScalarBelow(Fn.ORDER),
};
