import { test } from 'vitest';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { signRequest, signatureMatches, stringToSign, NONCE_PATTERN } from './request-signing.ts';

const req = {
  method: 'post',
  pathWithQuery: '/api/v1/keys/generate?x=1',
  timestampMs: 1700000000000,
  nonce: 'abcdefghijklmnop',
  body: '{"a":1}',
};

test('string to sign follows README "HTTP API" exactly', () => {
  const bodyHash = createHash('sha256').update('{"a":1}').digest('hex');
  assert.equal(stringToSign(req), `POST\n/api/v1/keys/generate?x=1\n1700000000000\nabcdefghijklmnop\n${bodyHash}`);
});

test('signature is HMAC-SHA256 in lowercase hex, as node:crypto computes it', () => {
  const expected = createHmac('sha256', 'secret').update(stringToSign(req)).digest('hex');
  assert.equal(signRequest('secret', req), expected);
  assert.ok(signatureMatches('secret', req, expected));
  assert.ok(!signatureMatches('secret', req, expected.toUpperCase()));
  assert.ok(!signatureMatches('other', req, expected));
  assert.ok(!signatureMatches('secret', { ...req, body: '{"a":2}' }, expected));
});

test('empty body hashes the empty string', () => {
  assert.match(
    stringToSign({ ...req, body: undefined }),
    /e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855$/,
  );
});

test('nonce pattern', () => {
  assert.ok(NONCE_PATTERN.test('a'.repeat(16)));
  assert.ok(!NONCE_PATTERN.test('a'.repeat(15)));
  assert.ok(!NONCE_PATTERN.test('a'.repeat(65)));
  assert.ok(!NONCE_PATTERN.test('abcdefghijklmnop!'));
});
