/**
 * Fiat–Shamir transcripts. Every challenge hashes a domain tag, a binding (session id, prover,
 * verifier, all party ids) and the full statement and first messages, each item length-prefixed
 * and typed so that no two different inputs encode alike. Binding the session and the parties
 * answers CVE-2022-47930 (proofs replayed across sessions or parties in GG18/GG20 libraries).
 */
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { bytesToBigInt, bitLength, mod } from '../bigint/index.ts';

export type TranscriptItem = bigint | Uint8Array | string | number;

const encoder = new TextEncoder();

function encodeItem(item: TranscriptItem): Uint8Array {
  let tag: number;
  let body: Uint8Array;
  if (typeof item === 'bigint') {
    tag = item < 0n ? 2 : 1;
    const magnitude = item < 0n ? -item : item;
    const hex = magnitude.toString(16);
    body = Uint8Array.from(Buffer.from(hex.length % 2 ? '0' + hex : hex, 'hex'));
  } else if (typeof item === 'string') {
    tag = 3;
    body = encoder.encode(item);
  } else if (typeof item === 'number') {
    if (!Number.isSafeInteger(item)) throw new RangeError('transcript numbers must be integers');
    tag = 4;
    body = encoder.encode(String(item));
  } else {
    tag = 5;
    body = item;
  }
  const out = new Uint8Array(5 + body.length);
  out[0] = tag;
  new DataView(out.buffer).setUint32(1, body.length);
  out.set(body, 5);
  return out;
}

function encodeAll(items: readonly TranscriptItem[]): Uint8Array {
  const parts = items.map(encodeItem);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Who a proof is bound to: the session, the prover, the verifier (if any), and every party. */
export interface ProofBinding {
  readonly sessionId: string;
  readonly prover: string;
  readonly verifier?: string;
  readonly parties: readonly string[];
}

export function bindingBytes(b: ProofBinding): Uint8Array {
  return encodeAll([b.sessionId, b.prover, b.verifier ?? '', b.parties.length, ...b.parties]);
}

/** 32-byte hash of a domain-separated transcript. */
export function transcriptHash(domain: string, binding: ProofBinding, items: readonly TranscriptItem[]): Uint8Array {
  return sha256(encodeAll(['custos/gg18/' + domain, bindingBytes(binding), ...items]));
}

/** `length` pseudo-random bytes expanded from a seed with SHA-512 in counter mode. */
export function expand(seed: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let counter = 0, at = 0; at < length; counter++) {
    const block = sha512(encodeAll([seed, counter]));
    out.set(block.subarray(0, Math.min(block.length, length - at)), at);
    at += block.length;
  }
  return out;
}

/** `count` challenges uniform in [0, modulus) up to 2^-128 statistical distance. */
export function challengesModulo(seed: Uint8Array, modulus: bigint, count: number): bigint[] {
  const width = Math.ceil((bitLength(modulus) + 128) / 8);
  const stream = expand(seed, width * count);
  const out: bigint[] = [];
  for (let i = 0; i < count; i++) {
    out.push(mod(bytesToBigInt(stream.subarray(i * width, (i + 1) * width)), modulus));
  }
  return out;
}

/** A challenge uniform in [-bound, bound]. */
export function signedChallenge(seed: Uint8Array, bound: bigint): bigint {
  return challengesModulo(seed, 2n * bound + 1n, 1)[0]! - bound;
}
