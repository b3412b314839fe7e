/** secp256k1 as a prime-order group (frost/group.ts), with strict SEC 1 compressed encodings. */
import { secp256k1, secp256k1_hasher } from '@noble/curves/secp256k1.js';
import { bytesToHex } from '@noble/curves/utils.js';
import { DecodeError } from '../encoding.ts';
import type { PrimeOrderGroup } from '../frost/group.ts';
import { randomScalarBelow, strictScalar } from '../frost/scalars.ts';

const Point = secp256k1.Point;
type Secp256k1Point = InstanceType<typeof Point>;
const ORDER = Point.CURVE().n;

function decodeElement(bytes: Uint8Array): Secp256k1Point {
  if (bytes.length !== 33) throw new DecodeError(`expected a 33-byte element, got ${bytes.length}`);
  let p: Secp256k1Point;
  try {
    p = Point.fromBytes(bytes);
    p.assertValidity();
  } catch {
    throw new DecodeError('not a valid secp256k1 point encoding');
  }
  if (p.is0()) throw new DecodeError('identity element');
  if (bytesToHex(p.toBytes(true)) !== bytesToHex(bytes)) throw new DecodeError('non-canonical encoding');
  return p;
}

export const secp256k1Group: PrimeOrderGroup<Secp256k1Point> = {
  name: 'secp256k1',
  order: ORDER,
  scalarLength: 32,
  elementLength: 33,
  generator: Point.BASE,
  identity: Point.ZERO,
  encodeElement: (p) => p.toBytes(true),
  decodeElement,
  encodeScalar: (s) => Point.Fn.toBytes(s),
  decodeScalar: (bytes) => strictScalar(bytes, 32, ORDER, 'be'),
  // RFC 9380 hash_to_field (expand_message_xmd, SHA-256) reduced mod the group order.
  hashToScalar: (dst, msg) => secp256k1_hasher.hashToScalar(msg, { DST: dst }),
  randomScalar: () => randomScalarBelow(ORDER),
};
