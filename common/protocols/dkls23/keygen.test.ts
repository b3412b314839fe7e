import assert from 'node:assert/strict';
import { describe, test } from 'vitest';
import { runParties, type Tamper } from '../frost/in-process-router.ts';
import { assertAbort } from '../testing/helpers.ts';
import type { PartyId, SentMessage, SessionContext } from '../types.ts';
import { dkls23Scheme as scheme } from './index.ts';

const holders = ['tss1', 'tss2', 'tss3'];
const ctxOf = (self: PartyId): SessionContext => ({
  sessionId: 'kg-judge',
  keyId: 'key_judge',
  self,
  parties: holders,
  holders,
  threshold: 2,
});

/** Runs keygen with `tamper`, recording every message as sent (broadcasts once). */
function recordKeygen(tamper?: Tamper): { run: () => unknown; sent: SentMessage[] } {
  const sent: SentMessage[] = [];
  const seen = new Set<string>();
  const run = () =>
    runParties(new Map(holders.map((h) => [h, scheme.keygen(ctxOf(h))])), (msg) => {
      const payload = tamper ? tamper(msg) : msg.payload;
      const key = `${msg.round}|${msg.from}|${msg.broadcast ? '' : msg.to}`;
      if (!seen.has(key)) {
        seen.add(key);
        sent.push({ from: msg.from, round: msg.round, ...(msg.broadcast ? {} : { to: msg.to }), payload });
      }
      return payload;
    });
  return { run, sent };
}

describe('DKLS23 keygen judge', { timeout: 120_000 }, () => {
  let honest: SentMessage[] | undefined;
  /** One honest run's record, shared by the tests that forge from it. */
  const honestRecord = (): SentMessage[] => {
    if (!honest) {
      const { run, sent } = recordKeygen();
      run();
      honest = sent;
    }
    return honest;
  };

  test('an honest holder is found not guilty', () => {
    const verdict = scheme.judge!(ctxOf('tss1'), 'KEYGEN', 'tss2', 'tss1', honestRecord());
    assert.equal(verdict?.guilty, false);
  });

  test('a bad share is named by the receiver and judged guilty from the public record', () => {
    const { run, sent } = recordKeygen((msg) => {
      if (msg.round !== 1 || msg.from !== 'tss2' || msg.to !== 'tss1' || msg.broadcast) return msg.payload;
      const p = msg.payload.slice();
      p[31]! ^= 1;
      return p;
    });
    assertAbort(run, 'tss2', /Feldman/);
    const verdict = scheme.judge!(ctxOf('tss1'), 'KEYGEN', 'tss2', 'tss1', sent);
    assert.equal(verdict?.guilty, true);
    assert.match(verdict!.reason, /Feldman/);
  });

  test('a base-OT proof made for another pair is judged guilty', () => {
    const sent = honestRecord();
    const toTss3 = sent.find((m) => m.round === 0 && m.from === 'tss2' && m.to === 'tss3')!;
    const forged = sent.map((m) =>
      m.round === 0 && m.from === 'tss2' && m.to === 'tss1' ? { ...m, payload: toTss3.payload } : m,
    );
    const verdict = scheme.judge!(ctxOf('tss1'), 'KEYGEN', 'tss2', 'tss1', forged);
    assert.equal(verdict?.guilty, true);
    assert.match(verdict!.reason, /base-OT/);
  });

  test("an echo that misreports the accuser's broadcast is judged guilty", () => {
    const forged = honestRecord().map((m) =>
      m.round === 0 && m.from === 'tss1' && m.to === undefined ? { ...m, payload: new Uint8Array(32) } : m,
    );
    const verdict = scheme.judge!(ctxOf('tss1'), 'KEYGEN', 'tss2', 'tss1', forged);
    assert.equal(verdict?.guilty, true);
    assert.match(verdict!.reason, /echo/);
  });
});
