/**
 * Who takes part in a session: 1-based protocol indices (a party's position in the key's holders),
 * message collection per round, and the calling discipline of MpcParty.
 */
import { ProtocolAbort, type InboundMessage, type PartyId, type RoundSpec, type SessionContext } from '../types.ts';

/** A party's 1-based protocol index: its position in the key's holders. */
export function partyIndex(holders: readonly PartyId[], id: PartyId): bigint {
  const i = holders.indexOf(id);
  if (i < 0) throw new Error(`${id} is not a holder of this key`);
  return BigInt(i + 1);
}

/** The indices of `parties` among `holders`. */
export function partyIndices(holders: readonly PartyId[], parties: readonly PartyId[]): bigint[] {
  return parties.map((p) => partyIndex(holders, p));
}

/** One party's messages of one round. */
export interface Received {
  readonly broadcast?: Uint8Array;
  readonly p2p?: Uint8Array;
}

/**
 * Sorts one round's inbound messages by sender, naming any party that sent an unexpected,
 * duplicate or missing message.
 */
export function collectRound(
  ctx: Pick<SessionContext, 'self' | 'parties'>,
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

/** Parses `from`'s message with `read`; anything malformed aborts naming the sender. */
export function parseFrom<T>(from: PartyId, what: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof ProtocolAbort) throw error;
    throw new ProtocolAbort(from, `malformed ${what}: ${(error as Error).message}`);
  }
}

/** Enforces the calling discipline of MpcParty: rounds in order, then finish once. */
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
