/**
 * Drives a set of MpcParty instances in one process, delivering each round's messages as the node
 * runtime would (broadcasts to every other party, point-to-point to their recipient). For tests
 * and benchmarks of the pure protocol code; `tamper` lets a test play a cheating sender.
 */
import { type InboundMessage, type MpcParty, type PartyId } from '../types.ts';

/** Returns the payload `to` receives from `from` in round `round` (replace it to cheat). */
export type Tamper = (msg: {
  round: number;
  from: PartyId;
  to: PartyId;
  broadcast: boolean;
  payload: Uint8Array;
}) => Uint8Array;

export function runParties<O>(parties: ReadonlyMap<PartyId, MpcParty<O>>, tamper?: Tamper): Map<PartyId, O> {
  const ids = [...parties.keys()];
  const roundCount = parties.get(ids[0]!)!.rounds.length;
  let inbox = new Map<PartyId, InboundMessage[]>(ids.map((id) => [id, []]));
  for (let round = 0; round < roundCount; round++) {
    const next = new Map<PartyId, InboundMessage[]>(ids.map((id) => [id, []]));
    for (const from of ids) {
      for (const out of parties.get(from)!.round(round, inbox.get(from)!)) {
        const broadcast = out.to === undefined;
        const recipients = broadcast ? ids.filter((id) => id !== from) : [out.to!];
        for (const to of recipients) {
          const payload = out.payload.slice();
          next
            .get(to)!
            .push({ from, broadcast, payload: tamper ? tamper({ round, from, to, broadcast, payload }) : payload });
        }
      }
    }
    inbox = next;
  }
  return new Map(ids.map((id) => [id, parties.get(id)!.finish(inbox.get(id)!)]));
}
