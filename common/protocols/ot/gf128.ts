/**
 * GF(2^128) with the polynomial x^128 + x^7 + x^2 + x + 1 (elements as bigints, bit i = x^i), for
 * the KOS consistency check. Products are accumulated unreduced (up to 255 bits) and reduced once.
 */
const MASK128 = (1n << 128n) - 1n;

/** The carry-less product of two 128-bit values (≤ 255 bits), 4 bits at a time. */
export function clmul(a: bigint, b: bigint): bigint {
  const table: bigint[] = [0n, a, a << 1n, (a << 1n) ^ a];
  for (let i = 4; i < 16; i++) table.push((table[i >> 1]! << 1n) ^ (i & 1 ? a : 0n));
  let acc = 0n;
  for (let shift = 124n; shift >= 0n; shift -= 4n) {
    acc = (acc << 4n) ^ table[Number((b >> shift) & 15n)]!;
  }
  return acc;
}

/** Reduces a value below 2^255 modulo x^128 + x^7 + x^2 + x + 1. */
export function reduce(x: bigint): bigint {
  let v = x;
  for (let round = 0; round < 2; round++) {
    const high = v >> 128n;
    v = (v & MASK128) ^ high ^ (high << 1n) ^ (high << 2n) ^ (high << 7n);
  }
  return v & MASK128;
}

export function gfMul(a: bigint, b: bigint): bigint {
  return reduce(clmul(a, b));
}

/** 16 bytes, little-endian bit order (bit i of byte k is x^(8k+i)). */
export function gfFromBytes(b: Uint8Array): bigint {
  let v = 0n;
  for (let k = b.length - 1; k >= 0; k--) v = (v << 8n) | BigInt(b[k]!);
  return v;
}

export function gfToBytes(v: bigint): Uint8Array {
  const out = new Uint8Array(16);
  let x = v;
  for (let k = 0; k < 16; k++) {
    out[k] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}
