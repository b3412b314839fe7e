/** Binary fields for secp256k1 protocol messages on top of the strict ByteWriter/ByteReader. */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { DecodeError, type ByteReader, type ByteWriter } from '../encoding.ts';
import { ORDER, scalarBytes, type Point } from './scalars.ts';
import { bytesToBigInt } from '../../crypto/bigint/index.ts';

export function writePoint(w: ByteWriter, p: Point): void {
  w.bytes(p.toBytes(true));
}

/** A compressed point that is on the curve and not the identity. */
export function readPoint(r: ByteReader): Point {
  const b = r.bytes(33);
  let p: Point;
  try {
    p = secp256k1.Point.fromBytes(b);
  } catch {
    throw new DecodeError('not a curve point');
  }
  if (p.is0()) throw new DecodeError('identity point');
  return p;
}

export function writeScalar(w: ByteWriter, x: bigint): void {
  w.bytes(scalarBytes(x));
}

/** A canonical scalar in [0, q). */
export function readScalar(r: ByteReader): bigint {
  const x = bytesToBigInt(r.bytes(32));
  if (x >= ORDER) throw new DecodeError('scalar out of range');
  return x;
}

export function writeList<T>(w: ByteWriter, items: readonly T[], write: (w: ByteWriter, x: T) => void): void {
  w.u16(items.length);
  for (const x of items) write(w, x);
}

export function readList<T>(r: ByteReader, max: number, read: (r: ByteReader) => T): T[] {
  const n = r.u16();
  if (n > max) throw new DecodeError(`list of ${n} exceeds the limit ${max}`);
  return Array.from({ length: n }, () => read(r));
}
