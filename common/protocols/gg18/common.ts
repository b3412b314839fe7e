/** Helpers shared by GG18 keygen and signing: message collection, bindings, commitments. */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { randomBytes } from 'node:crypto';
import { mod, modInverse } from '../../crypto/bigint/index.ts';
import { transcriptHash, type ProofBinding } from '../../crypto/zk/transcript.ts';
import { ProtocolAbort, type InboundMessage, type PartyId, type RoundSpec, type SessionContext } from '../types.ts';

export type Point = InstanceType<typeof secp256k1.Point>;
export const G = secp256k1.Point.BASE;
export const ORDER = secp256k1.Point.CURVE().n;

/** s·G, including s = 0. */
export function baseMul(s: bigint): Point {
  return s === 0n ? secp256k1.Point.ZERO : G.multiply(s);
}

/** A party's 1-based protocol index: its position in the key's holders. */
export function partyIndex(ctx: Pick<SessionContext, 'holders'>, id: PartyId): bigint {
  const i = ctx.holders.indexOf(id);
  if (i < 0) throw new Error(`${id} is not a holder of this key`);
  return BigInt(i + 1);
}

export function binding(ctx: SessionContext, prover: PartyId, verifier?: PartyId): ProofBinding {
  return {
    sessionId: `${ctx.sessionId}|key=${ctx.keyId}|t=${ctx.threshold}|holders=${ctx.holders.join(',')}`,
    prover,
    ...(verifier === undefined ? {} : { verifier }),
    parties: ctx.parties,
  };
}

export interface Received {
  readonly broadcast?: Uint8Array;
  readonly p2p?: Uint8Array;
}

/**
 * Sorts one round's inbound messages by sender, naming any party that sent an unexpected,
 * duplicate or missing message.
 */
export function collect(
  ctx: SessionContext,
  spec: RoundSpec,
  inbound: readonly InboundMessage[],
): Map<PartyId, Received> {
  const others = ctx.parties.filter((p) => p !== ctx.self);
  const got = new Map<PartyId, { broadcast?: Uint8Array; p2p?: Uint8Array }>();
  for (const m of inbound) {
    if (!others.includes(m.from)) throw new ProtocolAbort(m.from, 'message from a non-participant');
    const entry = got.get(m.from) ?? {};
    const kind = m.broadcast ? 'broadcast' : 'p2p';
    if (!spec[kind] || entry[kind]) throw new ProtocolAbort(m.from, `unexpected ${kind} message`);
    entry[kind] = m.payload;
    got.set(m.from, entry);
  }
  for (const p of others) {
    const entry = got.get(p);
    if ((spec.broadcast && !entry?.broadcast) || (spec.p2p && !entry?.p2p)) {
      throw new ProtocolAbort(p, 'missing message');
    }
  }
  return got;
}

/** Hash commitment to points (GG18's commitment scheme, modelled as a random oracle). */
export function commit(
  ctx: SessionContext,
  label: string,
  points: readonly Point[],
): { commitment: Uint8Array; opening: Uint8Array } {
  const opening = Uint8Array.from(randomBytes(32));
  return { commitment: commitmentOf(ctx, ctx.self, label, opening, points), opening };
}

export function commitmentOf(
  ctx: SessionContext,
  owner: PartyId,
  label: string,
  opening: Uint8Array,
  points: readonly Point[],
): Uint8Array {
  return transcriptHash('commit/' + label, binding(ctx, owner), [opening, ...points.map((p) => p.toBytes(true))]);
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Compares j's echo (one hash per party of what j received from it) with this party's own.
 * Broadcasts are signed by their sender, so a mismatch about j's own broadcast or this party's
 * is j's fault (j equivocated, or misreports what this party sent); about a third party k's,
 * either k equivocated or j misreports, and nobody can be named.
 */
export function checkEcho(
  ctx: SessionContext,
  j: PartyId,
  theirs: readonly Uint8Array[],
  mine: readonly Uint8Array[],
): void {
  if (theirs.length !== mine.length) throw new ProtocolAbort(j, 'malformed echo');
  ctx.parties.forEach((k, i) => {
    if (sameBytes(theirs[i]!, mine[i]!)) return;
    const culprit = k === j || k === ctx.self ? j : undefined;
    throw new ProtocolAbort(culprit, `${j} and ${ctx.self} saw different broadcasts from ${k}`);
  });
}

/** Lagrange coefficient at 0 for index i over the signer indices. */
export function lagrangeAtZero(i: bigint, indices: readonly bigint[]): bigint {
  let num = 1n;
  let den = 1n;
  for (const j of indices) {
    if (j === i) continue;
    num = mod(num * j, ORDER);
    den = mod(den * (j - i), ORDER);
  }
  return mod(num * modInverse(den, ORDER), ORDER);
}

export function randomScalar(): bigint {
  for (;;) {
    const bytes = randomBytes(48);
    const k = mod(BigInt('0x' + bytes.toString('hex')), ORDER);
    bytes.fill(0);
    if (k !== 0n) return k;
  }
}

/** Runs a proof check, treating exceptions from malformed input as failure. */
export function holds(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}

/** Enforces the calling discipline of MpcParty. */
export class RoundCounter {
  private next = 0;
  constructor(private readonly total: number) {}
  enter(r: number): void {
    if (r !== this.next || r >= this.total) throw new Error(`round ${r} called out of order`);
    this.next++;
  }
  finish(): void {
    if (this.next !== this.total) throw new Error('finish called before the last round');
    this.next++;
  }
}
