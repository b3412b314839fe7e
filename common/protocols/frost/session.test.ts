import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { ProtocolAbort, type SessionContext } from '../types.ts';
import { checkKeygenContext, checkSigningContext, onePerSender, RoundCounter } from './session.ts';

const holders = ['tss1', 'tss2', 'tss3'];
const ctx = (over: Partial<SessionContext>): SessionContext => ({
  sessionId: 's',
  self: 'tss1',
  parties: holders,
  holders,
  threshold: 2,
  ...over,
});

describe('session checks', () => {
  it('accepts 1 < threshold <= holders and rejects the rest', () => {
    checkKeygenContext(ctx({}));
    checkKeygenContext(ctx({ threshold: 3 }));
    for (const threshold of [1, 4, 2.5]) assert.throws(() => checkKeygenContext(ctx({ threshold })), ProtocolAbort);
    assert.throws(
      () => checkKeygenContext(ctx({ holders: ['tss1', 'tss1'], parties: ['tss1', 'tss1'] })),
      /duplicates/,
    );
    assert.throws(() => checkKeygenContext(ctx({ parties: ['tss1', 'tss2'] })), /parties must equal holders/);
    assert.throws(() => checkKeygenContext(ctx({ self: 'tss9' })), /not a holder/);
  });

  it('signing needs at least threshold distinct holders including self', () => {
    checkSigningContext(ctx({ parties: ['tss1', 'tss3'] }));
    assert.throws(() => checkSigningContext(ctx({ parties: ['tss1'] })), /fewer than the threshold/);
    assert.throws(() => checkSigningContext(ctx({ parties: ['tss1', 'tss9'] })), /not a holder/);
    assert.throws(() => checkSigningContext(ctx({ parties: ['tss2', 'tss3'] })), /not a signer/);
  });

  it('wants one message per sender on the right channel', () => {
    const m = (from: string, broadcast = true) => ({ from, broadcast, payload: new Uint8Array(1) });
    assert.equal(onePerSender([m('tss2'), m('tss3')], ['tss2', 'tss3'], true).size, 2);
    const culprit = (run: () => unknown) => {
      try {
        run();
      } catch (e) {
        return (e as ProtocolAbort).culprit;
      }
      return 'no abort';
    };
    assert.equal(
      culprit(() => onePerSender([m('tss2')], ['tss2', 'tss3'], true)),
      'tss3',
    );
    assert.equal(
      culprit(() => onePerSender([m('tss2'), m('tss3', false)], ['tss2', 'tss3'], true)),
      'tss3',
    );
  });

  it('enforces the calling order', () => {
    const c = new RoundCounter(2);
    assert.throws(() => c.enter(1), /out of order/);
    c.enter(0);
    assert.throws(() => c.finish(), /after 1 of 2/);
    c.enter(1);
    c.finish();
    assert.throws(() => c.finish());
  });
});
