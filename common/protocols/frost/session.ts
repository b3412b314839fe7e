/**
 * Session bookkeeping shared by the FROST and BLS parties: context checks, party indices, and
 * collecting exactly one message per expected sender, with every failure attributed to a node.
 */
import { ProtocolAbort, type InboundMessage, type PartyId, type SessionContext } from '../types.ts';

/** Upper bound on holders; party indices travel as u16. */
export const MAX_HOLDERS = 255;

/** A party's protocol index: its 1-based position in `holders`. */
export function partyIndex(holders: readonly PartyId[], id: PartyId): number {
  const i = holders.indexOf(id);
  if (i < 0) throw new ProtocolAbort(undefined, `${id} is not a holder of this key`);
  return i + 1;
}

function checkHolders(holders: readonly PartyId[], threshold: number): void {
  if (holders.length < 2 || holders.length > MAX_HOLDERS) {
    throw new ProtocolAbort(undefined, `holders must number 2..${MAX_HOLDERS}, got ${holders.length}`);
  }
  if (new Set(holders).size !== holders.length) throw new ProtocolAbort(undefined, 'holders contain duplicates');
  if (!Number.isInteger(threshold) || threshold < 2 || threshold > holders.length) {
    throw new ProtocolAbort(undefined, `threshold must satisfy 1 < threshold <= ${holders.length}, got ${threshold}`);
  }
}

/** Whether two party lists are equal, element by element. */
export const sameParties = (a: readonly PartyId[], b: readonly PartyId[]): boolean =>
  a.length === b.length && a.every((p, i) => p === b[i]);

/** Keygen: every holder takes part, and `self` is one of them. */
export function checkKeygenContext(ctx: SessionContext): void {
  checkHolders(ctx.holders, ctx.threshold);
  if (!sameParties(ctx.parties, ctx.holders)) {
    throw new ProtocolAbort(undefined, 'keygen parties must equal holders');
  }
  partyIndex(ctx.holders, ctx.self);
}

/** Signing: at least `threshold` distinct holders, `self` among them. */
export function checkSigningContext(ctx: SessionContext): void {
  checkHolders(ctx.holders, ctx.threshold);
  if (new Set(ctx.parties).size !== ctx.parties.length)
    throw new ProtocolAbort(undefined, 'signers contain duplicates');
  for (const p of ctx.parties) partyIndex(ctx.holders, p);
  if (ctx.parties.length < ctx.threshold) {
    throw new ProtocolAbort(undefined, `${ctx.parties.length} signers are fewer than the threshold ${ctx.threshold}`);
  }
  if (!ctx.parties.includes(ctx.self)) throw new ProtocolAbort(undefined, `${ctx.self} is not a signer`);
}

/**
 * Exactly one message from each of `senders` on the expected channel. An unexpected sender, a
 * second message or one on the wrong channel names its sender; a missing one names the absentee.
 */
export function onePerSender(
  inbound: readonly InboundMessage[],
  senders: readonly PartyId[],
  broadcast: boolean,
): Map<PartyId, Uint8Array> {
  const got = new Map<PartyId, Uint8Array>();
  for (const m of inbound) {
    if (!senders.includes(m.from)) throw new ProtocolAbort(m.from, 'message from a party not expected in this round');
    if (m.broadcast !== broadcast) {
      throw new ProtocolAbort(m.from, `expected a ${broadcast ? 'broadcast' : 'point-to-point'} message`);
    }
    if (got.has(m.from)) throw new ProtocolAbort(m.from, 'duplicate message in one round');
    got.set(m.from, m.payload);
  }
  for (const s of senders) if (!got.has(s)) throw new ProtocolAbort(s, 'no message received');
  return got;
}

/** Runs `check`; any error it throws becomes a ProtocolAbort naming `culprit`. */
export function blame<T>(culprit: PartyId, what: string, check: () => T): T {
  try {
    return check();
  } catch (e) {
    if (e instanceof ProtocolAbort) throw e;
    throw new ProtocolAbort(culprit, `${what}: ${(e as Error).message}`);
  }
}

/** Runs `check`; any error it throws becomes a ProtocolAbort that names nobody (local data is bad). */
export function blameLocal<T>(what: string, check: () => T): T {
  try {
    return check();
  } catch (e) {
    if (e instanceof ProtocolAbort) throw e;
    throw new ProtocolAbort(undefined, `${what}: ${(e as Error).message}`);
  }
}

/** Enforces the runtime's calling order: round(0), round(1), …, finish. */
export class RoundCounter {
  private next = 0;

  constructor(private readonly total: number) {}

  enter(r: number): void {
    if (r !== this.next || r >= this.total) throw new Error(`round ${r} called out of order (expected ${this.next})`);
    this.next++;
  }

  finish(): void {
    if (this.next !== this.total) throw new Error(`finish called after ${this.next} of ${this.total} rounds`);
    this.next = Number.POSITIVE_INFINITY;
  }
}
