/**
 * A party's GG18 pre-parameters: its Paillier key (two 1024-bit safe primes) and its
 * ring-Pedersen parameters with their trapdoor. Independent of any key or session, so a node
 * generates them ahead of time (node/preparams keeps a pool).
 */
import { bitLength, isProbablePrime, secretPowCrt } from '../../crypto/bigint/index.ts';
import {
  generatePaillierKey,
  MIN_MODULUS_BITS,
  secretKeyFromPrimes,
  type PaillierSecretKey,
} from '../../crypto/paillier/index.ts';
import { generateRingPedersen, type RingPedersenSecret } from '../../crypto/zk/ring-pedersen.ts';

export interface PreParams {
  readonly paillier: PaillierSecretKey;
  readonly ringPedersen: RingPedersenSecret;
}

export function generatePreParams(): PreParams {
  return { paillier: generatePaillierKey(), ringPedersen: generateRingPedersen() };
}

const hex = (x: bigint): string => x.toString(16);

/** Serialised pre-params (secret material: the caller encrypts before persisting). */
export function encodePreParams(pp: PreParams): Uint8Array {
  const { paillier: pk, ringPedersen: rp } = pp;
  return new TextEncoder().encode(
    JSON.stringify({
      v: 1,
      p: hex(pk.p),
      q: hex(pk.q),
      rpP: hex(rp.p),
      rpQ: hex(rp.q),
      h1: hex(rp.h1),
      h2: hex(rp.h2),
      alpha: hex(rp.alpha),
      beta: hex(rp.beta),
    }),
  );
}

export function decodePreParams(bytes: Uint8Array): PreParams {
  const raw = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
  if (raw['v'] !== 1) throw new Error('unknown pre-params version');
  const big = (k: string): bigint => {
    const v = raw[k];
    if (typeof v !== 'string' || !/^[0-9a-f]+$/.test(v)) throw new Error(`bad pre-params: ${k}`);
    return BigInt('0x' + v);
  };
  const paillier = secretKeyFromPrimes(big('p'), big('q'));
  const rpP = big('rpP');
  const rpQ = big('rpQ');
  const ringPedersen: RingPedersenSecret = {
    nTilde: rpP * rpQ,
    h1: big('h1'),
    h2: big('h2'),
    p: rpP,
    q: rpQ,
    alpha: big('alpha'),
    beta: big('beta'),
  };
  if (bitLength(paillier.n) < MIN_MODULUS_BITS || bitLength(ringPedersen.nTilde) < MIN_MODULUS_BITS) {
    throw new Error('pre-params modulus below 2048 bits');
  }
  return { paillier, ringPedersen };
}

function isSafePrime(p: bigint): boolean {
  return isProbablePrime(p, 20) && isProbablePrime((p - 1n) / 2n, 20);
}

/**
 * Full check of pre-params read back from storage: four distinct 1024-bit safe primes, 2048-bit
 * moduli, and h2 = h1^alpha, h1 = h2^beta in Z*_N~.
 */
export function validatePreParams(pp: PreParams): boolean {
  const { paillier: pk, ringPedersen: rp } = pp;
  const primes = [pk.p, pk.q, rp.p, rp.q];
  if (new Set(primes).size !== 4 || !primes.every(isSafePrime)) return false;
  if (bitLength(pk.n) < MIN_MODULUS_BITS || bitLength(rp.nTilde) < MIN_MODULUS_BITS) return false;
  const order = ((rp.p - 1n) / 2n) * ((rp.q - 1n) / 2n);
  return (
    rp.h1 > 1n &&
    rp.h1 < rp.nTilde &&
    rp.h1 !== rp.h2 &&
    (rp.alpha * rp.beta) % order === 1n &&
    secretPowCrt(rp.h1, rp.alpha, rp.p, rp.q) === rp.h2 &&
    secretPowCrt(rp.h2, rp.beta, rp.p, rp.q) === rp.h1
  );
}
