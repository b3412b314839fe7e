/**
 * In-process driver for MpcParty round machines (tests and benchmarks): delivers every round's
 * broadcast and point-to-point messages as the node runtime would, optionally through a
 * tampering hook that plays a cheating sender. The cheater, if named, runs last in each round,
 * so that the abort thrown is an honest party's verdict.
 */
import type { InboundMessage, MpcParty, OutboundMessage, PartyId } from '../types.ts';

export type Tamper = (round: number, from: PartyId, message: OutboundMessage) => OutboundMessage;

export function runParties<O>(
  parties: ReadonlyMap<PartyId, MpcParty<O>>,
  tamper?: Tamper,
  cheater?: PartyId,
): Map<PartyId, O> {
  const ids = [...parties.keys()].sort((a, b) => Number(a === cheater) - Number(b === cheater));
  const rounds = parties.get(ids[0]!)!.rounds.length;
  let inboxes = new Map<PartyId, InboundMessage[]>(ids.map((id) => [id, []]));
  for (let r = 0; r < rounds; r++) {
    const next = new Map<PartyId, InboundMessage[]>(ids.map((id) => [id, []]));
    for (const id of ids) {
      for (const raw of parties.get(id)!.round(r, inboxes.get(id)!)) {
        const m = tamper ? tamper(r, id, raw) : raw;
        const targets = m.to === undefined ? ids.filter((x) => x !== id) : [m.to];
        for (const t of targets) next.get(t)!.push({ from: id, broadcast: m.to === undefined, payload: m.payload });
      }
    }
    inboxes = next;
  }
  return new Map(ids.map((id) => [id, parties.get(id)!.finish(inboxes.get(id)!)]));
}
