/**
 * GG18 benchmark, in process: big-integer backends (the measurement behind the choice of
 * gmp-wasm), Paillier, safe primes, 2-of-3 keygen with a warm pre-params pool and 2-of-3 signing,
 * and (unless --skip-tss-lib) bnb-chain/tss-lib v2 doing the same on the same machine in the same
 * run, interleaved: one Custos iteration, one tss-lib iteration, and so on (A B A B), so that
 * the machine's drift hits both alike. Ratios are of measured wall-clock times (p50 over p50, and
 * the median of the pairwise ratios). Each section prints the load average at its start and end;
 * memory is the peak RSS (VmHWM) of each process.
 *
 * Custos's parties run one after another on one thread here; the per-round critical path (the
 * slowest party per round, summed) is printed as a model of the latency with one node per party,
 * labelled as such, never as the headline.
 *
 *   tsx bench/gg18.bench.ts [--signs N] [--keygens N] [--skip-tss-lib]
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import * as bcu from 'bigint-crypto-utils';
import {
  fixedBase,
  generateSafePrime,
  publicPow,
  secretFixedBases,
  secretPow,
  randomBits,
} from '../common/crypto/bigint/index.ts';
import { decrypt, encrypt, publicKeyFromModulus } from '../common/crypto/paillier/index.ts';
import { fixturePreParams } from '../common/protocols/gg18/fixtures.ts';
import { runParties } from '../common/protocols/gg18/harness.ts';
import { createGg18Scheme } from '../common/protocols/gg18/index.ts';
import type { MpcParty, PartyId } from '../common/protocols/types.ts';
import { loadAverage, peakRssMb } from './stats.ts';

const { values: args } = parseArgs({
  options: {
    signs: { type: 'string', default: '10' },
    keygens: { type: 'string', default: '10' },
    'skip-tss-lib': { type: 'boolean', default: false },
  },
});

const rows: [string, string][] = [];
const section = (name: string, edge: 'start' | 'end'): void => {
  rows.push([`load average at ${edge} of ${name}`, loadAverage()]);
};

/** tss-lib v2 in a long-lived process answering one keygen or sign request at a time. */
interface TssLib {
  readonly pid: number;
  request(op: 'keygen' | 'sign'): Promise<number>;
  close(): void;
}

async function startTssLib(): Promise<TssLib> {
  const bin = execFileSync('bash', [new URL('../hack/tss-lib-bench/build.sh', import.meta.url).pathname], {
    encoding: 'utf8',
  }).trim();
  const cache = process.env.CUSTOS_CACHE ?? join(homedir(), '.cache', 'custos');
  mkdirSync(cache, { recursive: true });
  const child = spawn(bin, ['-serve', '-preparams', join(cache, 'tss-lib-bench-preparams.json')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<number> => {
    const line = await lines.next();
    if (line.done) throw new Error('tss-lib-bench exited');
    return (JSON.parse(line.value) as { ms: number }).ms;
  };
  await next(); // ready: pre-params loaded (or generated once and cached) and a first keygen done
  return {
    pid: child.pid!,
    async request(op) {
      child.stdin.write(`${op}\n`);
      return next();
    },
    close: () => child.stdin.end(),
  };
}
const fmt = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(2)} ms`);
const quantile = (xs: readonly number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
};
const summary = (xs: readonly number[]): string =>
  `p50 ${fmt(quantile(xs, 0.5))}, p95 ${fmt(quantile(xs, 0.95))} (n=${xs.length})`;

function timeEach(f: () => unknown, n: number): number[] {
  f();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    f();
    out.push(performance.now() - start);
  }
  return out;
}

/** Square-and-multiply on native bigints, for comparison only. */
function nativePow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  let x = b % m;
  for (let k = e; k > 0n; k >>= 1n) {
    if (k & 1n) r = (r * x) % m;
    x = (x * x) % m;
  }
  return r;
}

section('micro-benchmarks', 'start');
const m = randomBits(2048) | (1n << 2047n) | 1n;
const base = randomBits(2040);
const exp = randomBits(2048);
rows.push(['modexp 2048 gmp-wasm mpz_powm', summary(timeEach(() => publicPow(base, exp, m), 30))]);
rows.push(['modexp 2048 gmp-wasm mpz_powm_sec (secret exp)', summary(timeEach(() => secretPow(base, exp, m), 30))]);
rows.push(['modexp 2048 bigint-crypto-utils', summary(timeEach(() => bcu.modPow(base, exp, m), 30))]);
rows.push(['modexp 2048 native BigInt', summary(timeEach(() => nativePow(base, exp, m), 5))]);
const fb = fixedBase(base, m, 2048);
rows.push(['modexp 2048 fixed-base (Yao, w=6)', summary(timeEach(() => fb.pow(randomBits(2048)), 30))]);
fb.dispose();
const secretFb = secretFixedBases([base], m, [2048]);
rows.push([
  'modexp 2048 fixed-base, secret exp (w=4, constant-time select)',
  summary(timeEach(() => secretFb.pow([randomBits(2048)]), 30)),
]);

const pre = fixturePreParams();
const sk = pre[0]!.paillier;
const c = encrypt(sk, 12345n).c;
const peerKey = publicKeyFromModulus(sk.n);
rows.push(['Paillier encrypt, peer key (N 2048)', summary(timeEach(() => encrypt(peerKey, 12345n), 20))]);
rows.push(['Paillier encrypt, own key (CRT)', summary(timeEach(() => encrypt(sk, 12345n), 20))]);
rows.push(['Paillier decrypt (CRT, powm_sec)', summary(timeEach(() => decrypt(sk, c), 20))]);
rows.push(['safe prime 1024 bits', summary(timeEach(() => generateSafePrime(1024), 4))]);
section('micro-benchmarks', 'end');
const tssLib = args['skip-tss-lib'] ? undefined : await startTssLib();

/** Wraps parties to time each round call; returns [in-process total, critical path]. */
function timed<O>(parties: Map<PartyId, MpcParty<O>>): [number, number] {
  const perRound: number[][] = [];
  const wrapped = new Map<PartyId, MpcParty<O>>();
  for (const [id, p] of parties) {
    const record = (r: number, ms: number): void => {
      (perRound[r] ??= []).push(ms);
    };
    wrapped.set(id, {
      rounds: p.rounds,
      round(r, inbound) {
        const start = performance.now();
        const out = p.round(r, inbound);
        record(r, performance.now() - start);
        return out;
      },
      finish(inbound) {
        const start = performance.now();
        const out = p.finish(inbound);
        record(p.rounds.length, performance.now() - start);
        return out;
      },
    });
  }
  const start = performance.now();
  runParties(wrapped);
  const total = performance.now() - start;
  return [total, perRound.reduce((acc, times) => acc + Math.max(...times), 0)];
}

const scheme = createGg18Scheme();
const holders = ['tss1', 'tss2', 'tss3'];
const keygenTotals: number[] = [];
const keygenPaths: number[] = [];
const tssKeygens: number[] = [];
section('keygen (A B A B)', 'start');
let shares = new Map<PartyId, Uint8Array>();
for (let i = 0; i < Number(args.keygens); i++) {
  const parties = new Map(
    holders.map((h, j) => [
      h,
      scheme.keygenWith(
        { sessionId: `bench-keygen-${i}`, keyId: 'key_bench', self: h, parties: holders, holders, threshold: 2 },
        pre[j]!,
      ),
    ]),
  );
  const outputs = new Map<PartyId, Uint8Array>();
  const capture = new Map<PartyId, MpcParty<unknown>>();
  for (const [id, p] of parties) {
    capture.set(id, {
      rounds: p.rounds,
      round: (r, inbound) => p.round(r, inbound),
      finish: (inbound) => {
        const out = p.finish(inbound);
        outputs.set(id, out.secretShare);
        return out;
      },
    });
  }
  const [total, path] = timed(capture);
  keygenTotals.push(total);
  keygenPaths.push(path);
  shares = outputs;
  if (tssLib) tssKeygens.push(await tssLib.request('keygen'));
}
section('keygen (A B A B)', 'end');
rows.push(['Custos GG18 2-of-3 keygen, warm pool: in-process', summary(keygenTotals)]);
rows.push(['Custos GG18 2-of-3 keygen: per-round critical path (model)', summary(keygenPaths)]);

const signTotals: number[] = [];
const signPaths: number[] = [];
const tssSigns: number[] = [];
section('sign (A B A B)', 'start');
const signers = ['tss1', 'tss2'];
for (let i = 0; i < Number(args.signs); i++) {
  const digest = Uint8Array.from(randomBytes(32));
  const parties = new Map(
    signers.map((h) => [
      h,
      scheme.sign(
        { sessionId: `bench-sign-${i}`, keyId: 'key_bench', self: h, parties: signers, holders, threshold: 2 },
        shares.get(h)!,
        digest,
      ),
    ]),
  );
  const [total, path] = timed(parties);
  signTotals.push(total);
  signPaths.push(path);
  if (tssLib) tssSigns.push(await tssLib.request('sign'));
}
section('sign (A B A B)', 'end');
rows.push(['Custos GG18 2-of-3 sign: in-process', summary(signTotals)]);
rows.push(['Custos GG18 2-of-3 sign: per-round critical path (model)', summary(signPaths)]);

rows.push(['peak RSS (VmHWM), this process (Custos, all parties)', `${peakRssMb(process.pid)} MB`]);
if (tssLib) {
  rows.push(['peak RSS (VmHWM), tss-lib process (all parties)', `${peakRssMb(tssLib.pid)} MB`]);
  tssLib.close();
  rows.push(['tss-lib v2 2-of-3 keygen, pre-params given: in-process', summary(tssKeygens)]);
  rows.push(['tss-lib v2 2-of-3 sign: in-process', summary(tssSigns)]);
  const ratio = (a: readonly number[], b: readonly number[]): string => {
    const pairwise = a.map((x, k) => x / b[k]!);
    return `p50/p50 ${(quantile(a, 0.5) / quantile(b, 0.5)).toFixed(2)}, median of pairs ${quantile(pairwise, 0.5).toFixed(2)}`;
  };
  rows.push(['sign ratio Custos/tss-lib, in-process wall clock', ratio(signTotals, tssSigns)]);
  rows.push(['keygen ratio Custos/tss-lib, in-process wall clock', ratio(keygenTotals, tssKeygens)]);
}

const width = Math.max(...rows.map(([k]) => k.length));
console.log(`GG18 benchmark (${new Date().toISOString()}, node ${process.version})`);
for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
