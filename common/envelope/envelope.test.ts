import { test } from 'vitest';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { envelopeKeysFrom, openEnvelope, sealEnvelope, EnvelopeError } from './envelope.ts';
import type { Envelope } from '../rpc/tss-service.ts';

function node(id: string) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { keys: envelopeKeysFrom(id, privateKey), publicKey };
}
const a = node('tss1');
const b = node('tss2');
const c = node('tss3');
const secret = new TextEncoder().encode('share for tss2: 0123456789abcdef');
const header = { sessionId: 's-1', round: 1, from: 'tss1', to: 'tss2' };

function flip(bytes: Uint8Array, i = 0): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[i % copy.length]! ^= 1;
  return copy;
}

function expectError(fn: () => unknown, code: EnvelopeError['code']) {
  assert.throws(fn, (e: unknown) => e instanceof EnvelopeError && e.code === code);
}

test('point-to-point: the recipient opens it, the ciphertext hides the payload', () => {
  const env = sealEnvelope(header, secret, a.keys, b.publicKey);
  assert.ok(!Buffer.from(env.body).includes(Buffer.from(secret)));
  assert.deepEqual(openEnvelope(env, { sessionId: 's-1', round: 1 }, b.keys, a.publicKey), secret);
});

test('broadcast: signed, readable by everyone', () => {
  const env = sealEnvelope({ ...header, to: '' }, secret, a.keys);
  assert.deepEqual(openEnvelope(env, { sessionId: 's-1', round: 1 }, c.keys, a.publicKey), secret);
});

test('a flipped bit anywhere is rejected', () => {
  const env = sealEnvelope(header, secret, a.keys, b.publicKey);
  const fields: (keyof Envelope)[] = ['body', 'iv', 'ephemeral_public_key', 'signature'];
  for (const field of fields) {
    for (const i of [0, 7, 31]) {
      const bad = { ...env, [field]: flip(env[field] as Uint8Array, i) };
      assert.throws(() => openEnvelope(bad, { sessionId: 's-1', round: 1 }, b.keys, a.publicKey), EnvelopeError, field);
    }
  }
  const badBroadcast = sealEnvelope({ ...header, to: '' }, secret, a.keys);
  expectError(
    () =>
      openEnvelope(
        { ...badBroadcast, body: flip(badBroadcast.body, 3) },
        { sessionId: 's-1', round: 1 },
        c.keys,
        a.publicKey,
      ),
    'AUTH_FAILED',
  );
});

test('replay into another session or round is rejected, even with the header rewritten', () => {
  const env = sealEnvelope(header, secret, a.keys, b.publicKey);
  expectError(() => openEnvelope(env, { sessionId: 's-2', round: 1 }, b.keys, a.publicKey), 'MISDIRECTED');
  expectError(() => openEnvelope(env, { sessionId: 's-1', round: 2 }, b.keys, a.publicKey), 'MISDIRECTED');
  expectError(
    () => openEnvelope({ ...env, session_id: 's-2' }, { sessionId: 's-2', round: 1 }, b.keys, a.publicKey),
    'AUTH_FAILED',
  );
  expectError(
    () => openEnvelope({ ...env, round: 2 }, { sessionId: 's-1', round: 2 }, b.keys, a.publicKey),
    'AUTH_FAILED',
  );
});

test('a message injected in another node’s name is rejected', () => {
  // c forges a message claiming to come from a.
  const forged = sealEnvelope(header, secret, c.keys, b.publicKey);
  expectError(() => openEnvelope(forged, { sessionId: 's-1', round: 1 }, b.keys, a.publicKey), 'AUTH_FAILED');
  // The relay rewrites `from` of a genuine message.
  const genuine = sealEnvelope({ ...header, from: 'tss3' }, secret, c.keys, b.publicKey);
  expectError(
    () => openEnvelope({ ...genuine, from: 'tss1' }, { sessionId: 's-1', round: 1 }, b.keys, a.publicKey),
    'AUTH_FAILED',
  );
});

test('redirecting a message to another recipient fails', () => {
  const env = sealEnvelope(header, secret, a.keys, b.publicKey);
  expectError(() => openEnvelope(env, { sessionId: 's-1', round: 1 }, c.keys, a.publicKey), 'MISDIRECTED');
  expectError(
    () => openEnvelope({ ...env, to: 'tss3' }, { sessionId: 's-1', round: 1 }, c.keys, a.publicKey),
    'AUTH_FAILED',
  );
});
