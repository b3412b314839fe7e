import assert from 'node:assert/strict';
import { describe, test } from 'vitest';
import {
  KEK_PROTOCOL_VERSION,
  KekProtocolError,
  KekStatus,
  decodeKekRequest,
  decodeKekResponse,
  encodeKekGranted,
  encodeKekRefused,
  encodeKekRequest,
  type Decoded,
} from './protocol.ts';

const KEK = new Uint8Array(32).map((_, i) => i + 1);

describe('KEK socket protocol', () => {
  test('a request carries magic, version and the node id', () => {
    const frame = encodeKekRequest('tss1');
    assert.deepEqual(frame, Buffer.from([...Buffer.from('CKEK'), KEK_PROTOCOL_VERSION, 4, ...Buffer.from('tss1')]));
    assert.deepEqual(decodeKekRequest(frame), { complete: true, value: { nodeId: 'tss1' }, bytes: frame.length });
  });

  test('partial frames are incomplete at every split, and complete once whole', () => {
    const cases: [Buffer, (b: Uint8Array) => Decoded<unknown>][] = [
      [encodeKekRequest('tss12'), decodeKekRequest],
      [encodeKekGranted(KEK), decodeKekResponse],
      [encodeKekRefused(KekStatus.WRONG_NODE, 'no'), decodeKekResponse],
    ];
    for (const [frame, decode] of cases) {
      for (let n = 0; n < frame.length; n++) assert.deepEqual(decode(frame.subarray(0, n)), { complete: false });
      assert.deepEqual(decode(frame), { ...decode(frame), complete: true, bytes: frame.length });
    }
  });

  test('a granted response round-trips the KEK as an independent copy', () => {
    const frame = encodeKekGranted(KEK);
    const decoded = decodeKekResponse(frame);
    assert.ok(decoded.complete && 'kek' in decoded.value);
    frame.fill(0);
    assert.deepEqual(decoded.value.kek, KEK);
  });

  test('a refusal carries its status and reason', () => {
    const decoded = decodeKekResponse(encodeKekRefused(KekStatus.WRONG_NODE, 'serves tss2, not tss1'));
    assert.deepEqual(decoded, {
      complete: true,
      value: { status: KekStatus.WRONG_NODE, reason: 'serves tss2, not tss1' },
      bytes: 8 + 21,
    });
  });

  test('wrong magic, another version, odd KEK sizes and unknown statuses are refused', () => {
    const granted = encodeKekGranted(KEK);
    const otherVersion = Buffer.from(granted);
    otherVersion[4] = 2;
    const unknownStatus = Buffer.from(granted);
    unknownStatus[5] = 9;
    const shortKek = Buffer.from(granted);
    shortKek.writeUInt16BE(16, 6);
    for (const bad of [Buffer.from('HTTP'), otherVersion, unknownStatus, shortKek]) {
      assert.throws(() => decodeKekResponse(bad), KekProtocolError, bad.toString('hex'));
    }
    assert.throws(() => decodeKekRequest(Buffer.from('GET / HTTP/1.1')), KekProtocolError);
    assert.throws(() => decodeKekRequest(Buffer.from([...Buffer.from('CKEK'), 1, 0])), KekProtocolError);
    assert.throws(() => encodeKekGranted(new Uint8Array(31)), KekProtocolError);
    assert.throws(() => encodeKekRequest(''), KekProtocolError);
  });
});
