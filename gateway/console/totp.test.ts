import { describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { decodeTotpSecret, encodeTotpSecret, hotp, matchTotp, newTotpSecret, totp, totpStep } from './totp.ts';

const RFC_SECRET = utf8ToBytes('12345678901234567890');

describe('TOTP', () => {
  test('RFC 4226 appendix D HOTP values', () => {
    const expected = [
      '755224',
      '287082',
      '359152',
      '969429',
      '338314',
      '254676',
      '287922',
      '162583',
      '399871',
      '520489',
    ];
    expected.forEach((code, i) => assert.equal(hotp(RFC_SECRET, BigInt(i)), code));
  });

  test('RFC 6238 appendix B SHA-1 vectors (8 digits)', () => {
    const vectors: [number, string][] = [
      [59, '94287082'],
      [1111111109, '07081804'],
      [1111111111, '14050471'],
      [1234567890, '89005924'],
      [2000000000, '69279037'],
      [20000000000, '65353130'],
    ];
    for (const [t, code] of vectors) assert.equal(totp(RFC_SECRET, t * 1000, 8), code);
  });

  test('a code matches its step and one step of drift, not two', () => {
    const now = 1_700_000_000_000;
    const step = totpStep(now);
    assert.equal(matchTotp(RFC_SECRET, hotp(RFC_SECRET, step), now, undefined), step);
    assert.equal(matchTotp(RFC_SECRET, hotp(RFC_SECRET, step + 1n), now, undefined), step + 1n);
    assert.equal(matchTotp(RFC_SECRET, hotp(RFC_SECRET, step - 2n), now, undefined), undefined);
  });

  test('attacker replays a code already used: refused', () => {
    const now = 1_700_000_000_000;
    const code = totp(RFC_SECRET, now);
    const used = matchTotp(RFC_SECRET, code, now, undefined);
    assert.ok(used !== undefined);
    assert.equal(matchTotp(RFC_SECRET, code, now + 5000, used), undefined);
  });

  test('attacker sends malformed or another secret codes: refused', () => {
    const now = 1_700_000_000_000;
    assert.equal(matchTotp(RFC_SECRET, '', now, undefined), undefined);
    assert.equal(matchTotp(RFC_SECRET, '12345a', now, undefined), undefined);
    const other = utf8ToBytes('another secret 12345');
    assert.notEqual(totp(other, now), totp(RFC_SECRET, now));
    assert.equal(matchTotp(RFC_SECRET, totp(other, now), now, undefined), undefined);
  });

  test('base32 secrets round-trip and bad ones are refused', () => {
    const text = newTotpSecret();
    assert.equal(text.length, 32);
    assert.equal(encodeTotpSecret(decodeTotpSecret(text)), text);
    assert.equal(encodeTotpSecret(RFC_SECRET), 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
    assert.throws(() => decodeTotpSecret('not base32!'));
  });
});
