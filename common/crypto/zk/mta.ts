/**
 * Range proofs for GG18's MtA and MtAwc (Gennaro–Goldfeder 2018, ePrint 2019/114, Appendix A,
 * after MacKenzie–Reiter), against the verifier's ring-Pedersen parameters (N~, h1, h2).
 *
 * - Alice's proof (A.1): c = Enc_N(m; r) with m < q^3.
 * - Bob's proof (A.2 for MtA, A.3 with X = x·G for MtAwc): c2 = c1^x · Enc_N(y; r) with
 *   x < q^3 and y < q^7. The bound on y (t1 <= q^7) is the fix tss-lib shipped for the
 *   2023 disclosures (Fireblocks CVE-2023-33241 / Verichain TSSHOCK): without it Bob's
 *   additive share is unconstrained.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import {
  bitLength,
  gcd,
  mod,
  publicPow,
  randomBelow,
  randomUnit,
  secretFixedBases,
  secretPow,
  secretPowCrt,
  type SecretFixedBases,
} from '../bigint/index.ts';
import { nthPower, nthPowerPublic, type PaillierPublicKey } from '../paillier/index.ts';
import type { RingPedersenParams, RingPedersenSecret } from './ring-pedersen.ts';
import { challengesModulo, transcriptHash, type ProofBinding } from './transcript.ts';

type Point = InstanceType<typeof secp256k1.Point>;
const G = secp256k1.Point.BASE;
const q = secp256k1.Point.CURVE().n;
const q3 = q ** 3n;
const q7 = q ** 7n;

/**
 * The prover's fixed-base tables for a verifier's (N~, h1, h2), kept across sessions (a few
 * signing keys' peers): one table costs about a dozen commitments to build and makes each
 * commitment about 3x cheaper than two exponentiations. h1's exponents are below q^7, h2's below
 * q^3·N~ (the largest masks sampled here).
 */
const pedTables = new Map<string, SecretFixedBases>();
const PED_TABLES_KEPT = 6;
const H1_BITS = bitLength(q7);
const h2Bits = (rp: RingPedersenParams): number => bitLength(q3 * rp.nTilde);

function pedTable(rp: RingPedersenParams): SecretFixedBases {
  const key = `${rp.nTilde.toString(36)}:${rp.h1.toString(36)}:${rp.h2.toString(36)}`;
  let table = pedTables.get(key);
  if (table) pedTables.delete(key);
  else table = secretFixedBases([rp.h1, rp.h2], rp.nTilde, [H1_BITS, h2Bits(rp)]);
  pedTables.set(key, table); // most recently used last
  if (pedTables.size > PED_TABLES_KEPT) pedTables.delete(pedTables.keys().next().value!);
  return table;
}

/**
 * h1^a · h2^b mod N~ for secret a, b (constant-time table selection). An honest prover's
 * exponents are within the tables' bounds; others (a prover out of protocol, as tests play one)
 * take the general exponentiation.
 */
function ped(rp: RingPedersenParams, a: bigint, b: bigint): bigint {
  if (a < 0n || b < 0n || bitLength(a) > H1_BITS || bitLength(b) > h2Bits(rp)) {
    return mod(secretPow(rp.h1, a, rp.nTilde) * secretPow(rp.h2, b, rp.nTilde), rp.nTilde);
  }
  return pedTable(rp).pow([a, b]);
}

/**
 * h1^a · h2^b mod N~ for a verifier. A verifier checking proofs against its own parameters uses
 * its trapdoor: h2 = h1^alpha in the subgroup of order p'q', so the product is one exponentiation
 * h1^(a + alpha·b mod p'q'), computed modulo each prime (about 10x faster).
 */
function pedVerify(rp: RingPedersenParams | RingPedersenSecret, a: bigint, b: bigint): bigint {
  if (!('alpha' in rp)) {
    return mod(publicPow(rp.h1, a, rp.nTilde) * publicPow(rp.h2, b, rp.nTilde), rp.nTilde);
  }
  const order = ((rp.p - 1n) / 2n) * ((rp.q - 1n) / 2n);
  return secretPowCrt(rp.h1, mod(a + rp.alpha * b, order), rp.p, rp.q);
}

/** (1+N)^m mod N^2 = 1 + m·N (for m >= 0). */
function gammaPow(pk: PaillierPublicKey, m: bigint): bigint {
  return mod(1n + mod(m, pk.n) * pk.n, pk.n2);
}

function challenge(domain: string, binding: ProofBinding, items: readonly bigint[]): bigint {
  return challengesModulo(transcriptHash(domain, binding, items), q, 1)[0]!;
}

function inRange(x: bigint, lo: bigint, hi: bigint): boolean {
  return x >= lo && x < hi;
}

function units(n: bigint, xs: readonly bigint[]): boolean {
  return xs.every((x) => x > 0n && x < n && gcd(x, n) === 1n);
}

export interface AliceRangeProof {
  readonly z: bigint;
  readonly u: bigint;
  readonly w: bigint;
  readonly s: bigint;
  readonly s1: bigint;
  readonly s2: bigint;
}

export function proveAliceRange(
  pk: PaillierPublicKey,
  c: bigint,
  m: bigint,
  r: bigint,
  rp: RingPedersenParams,
  binding: ProofBinding,
): AliceRangeProof {
  const alpha = randomBelow(q3);
  const beta = randomUnit(pk.n);
  const gamma = randomBelow(q3 * rp.nTilde);
  const rho = randomBelow(q * rp.nTilde);
  const z = ped(rp, m, rho);
  const u = mod(gammaPow(pk, alpha) * nthPower(pk, beta), pk.n2);
  const w = ped(rp, alpha, gamma);
  const e = challenge('mta-alice', binding, [pk.n, c, rp.nTilde, rp.h1, rp.h2, z, u, w]);
  return {
    z,
    u,
    w,
    s: mod(secretPow(r, e, pk.n) * beta, pk.n),
    s1: e * m + alpha,
    s2: e * rho + gamma,
  };
}

export function verifyAliceRange(
  pk: PaillierPublicKey,
  c: bigint,
  rp: RingPedersenParams,
  proof: AliceRangeProof,
  binding: ProofBinding,
): boolean {
  const { z, u, w, s, s1, s2 } = proof;
  if (!inRange(s1, 0n, q3 + 1n) || s2 < 0n) return false;
  if (!units(pk.n2, [c, u]) || !units(rp.nTilde, [z, w]) || !units(pk.n, [s])) return false;
  const e = challenge('mta-alice', binding, [pk.n, c, rp.nTilde, rp.h1, rp.h2, z, u, w]);
  const lhsU = mod(gammaPow(pk, s1) * nthPowerPublic(pk, s) * publicPow(c, -e, pk.n2), pk.n2);
  if (lhsU !== u) return false;
  return mod(pedVerify(rp, s1, s2) * publicPow(z, -e, rp.nTilde), rp.nTilde) === w;
}

export interface BobProof {
  /** x·G commitment u = alpha·G, present exactly for MtAwc (compressed point). */
  readonly u?: Uint8Array;
  readonly z: bigint;
  readonly zPrime: bigint;
  readonly t: bigint;
  readonly v: bigint;
  readonly w: bigint;
  readonly s: bigint;
  readonly s1: bigint;
  readonly s2: bigint;
  readonly t1: bigint;
  readonly t2: bigint;
}

/** Statement of Bob's proof: c2 = c1^x · Enc_N(y; r) (and X = x·G for MtAwc). */
export interface BobStatement {
  readonly pk: PaillierPublicKey;
  readonly c1: bigint;
  readonly c2: bigint;
  readonly X?: Point;
}

function bobChallenge(
  st: BobStatement,
  rp: RingPedersenParams,
  binding: ProofBinding,
  first: readonly bigint[],
  u: Uint8Array | undefined,
): bigint {
  const xBytes = st.X ? st.X.toBytes(true) : new Uint8Array();
  return challengesModulo(
    transcriptHash(st.X ? 'mtawc-bob' : 'mta-bob', binding, [
      st.pk.n,
      st.c1,
      st.c2,
      xBytes,
      u ?? new Uint8Array(),
      rp.nTilde,
      rp.h1,
      rp.h2,
      ...first,
    ]),
    q,
    1,
  )[0]!;
}

export function proveBob(
  st: BobStatement,
  x: bigint,
  y: bigint,
  r: bigint,
  rp: RingPedersenParams,
  binding: ProofBinding,
): BobProof {
  const { pk } = st;
  const alpha = randomBelow(q3);
  const rho = randomBelow(q * rp.nTilde);
  const rhoPrime = randomBelow(q3 * rp.nTilde);
  const sigma = randomBelow(q * rp.nTilde);
  const beta = randomUnit(pk.n);
  const gamma = randomBelow(q7);
  const tau = randomBelow(q3 * rp.nTilde);
  const u = st.X ? G.multiply(mod(alpha, q) || q).toBytes(true) : undefined;
  const z = ped(rp, x, rho);
  const zPrime = ped(rp, alpha, rhoPrime);
  const t = ped(rp, y, sigma);
  const v = mod(secretPow(st.c1, alpha, pk.n2) * gammaPow(pk, gamma) * nthPower(pk, beta), pk.n2);
  const w = ped(rp, gamma, tau);
  const e = bobChallenge(st, rp, binding, [z, zPrime, t, v, w], u);
  return {
    ...(u ? { u } : {}),
    z,
    zPrime,
    t,
    v,
    w,
    s: mod(secretPow(r, e, pk.n) * beta, pk.n),
    s1: e * x + alpha,
    s2: e * rho + rhoPrime,
    t1: e * y + gamma,
    t2: e * sigma + tau,
  };
}

export function verifyBob(st: BobStatement, rp: RingPedersenParams, proof: BobProof, binding: ProofBinding): boolean {
  const { pk } = st;
  const { z, zPrime, t, v, w, s, s1, s2, t1, t2 } = proof;
  if (!inRange(s1, 0n, q3 + 1n) || !inRange(t1, 0n, q7 + 1n) || s2 < 0n || t2 < 0n) return false;
  if (!units(pk.n2, [st.c1, st.c2, v]) || !units(pk.n, [s])) return false;
  if (!units(rp.nTilde, [z, zPrime, t, w])) return false;
  if ((proof.u === undefined) !== (st.X === undefined)) return false;
  const e = bobChallenge(st, rp, binding, [z, zPrime, t, v, w], proof.u);
  if (st.X && proof.u) {
    let u: Point;
    try {
      u = secp256k1.Point.fromBytes(proof.u);
    } catch {
      return false;
    }
    const lhs = s1 % q === 0n ? secp256k1.Point.ZERO : G.multiply(s1 % q);
    const rhs = e === 0n ? u : st.X.multiplyUnsafe(e).add(u);
    if (!lhs.equals(rhs)) return false;
  }
  if (mod(pedVerify(rp, s1, s2) * publicPow(z, -e, rp.nTilde), rp.nTilde) !== zPrime) return false;
  if (mod(pedVerify(rp, t1, t2) * publicPow(t, -e, rp.nTilde), rp.nTilde) !== w) return false;
  const lhs = mod(publicPow(st.c1, s1, pk.n2) * nthPowerPublic(pk, s) * gammaPow(pk, t1), pk.n2);
  return lhs === mod(publicPow(st.c2, e, pk.n2) * v, pk.n2);
}
