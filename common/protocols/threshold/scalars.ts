/** secp256k1 scalars and points as the threshold protocols use them. */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { randomBytes } from 'node:crypto';
import { bytesToBigInt, mod, modInverse } from '../../crypto/bigint/index.ts';

export type Point = InstanceType<typeof secp256k1.Point>;
export const G = secp256k1.Point.BASE;
export const ORDER = secp256k1.Point.CURVE().n;

/** x mod q. */
export function modq(x: bigint): bigint {
  return mod(x, ORDER);
}

/** x⁻¹ mod q (x ≠ 0 mod q). */
export function invq(x: bigint): bigint {
  return modInverse(modq(x), ORDER);
}

/** s·G, including s = 0. */
export function baseMul(s: bigint): Point {
  const k = modq(s);
  return k === 0n ? secp256k1.Point.ZERO : G.multiply(k);
}

/** s·P for a public scalar, including s = 0. */
export function publicMul(P: Point, s: bigint): Point {
  const k = modq(s);
  return k === 0n ? secp256k1.Point.ZERO : P.multiplyUnsafe(k);
}

/** A uniform non-zero scalar (48 random bytes reduced: bias below 2^-128). */
export function randomScalar(): bigint {
  for (;;) {
    const bytes = randomBytes(48);
    const k = modq(bytesToBigInt(bytes));
    bytes.fill(0);
    if (k !== 0n) return k;
  }
}

/** 32-byte big-endian encoding of a scalar. */
export function scalarBytes(x: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let v = modq(x);
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** A hash output read as a scalar (≥ 48 bytes keeps the bias below 2^-128). */
export function scalarFromHash(bytes: Uint8Array): bigint {
  return modq(bytesToBigInt(bytes));
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
