import { test } from 'vitest';
import assert from 'node:assert/strict';
import { createCipheriv, createECDH, generateKeyPairSync, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import {
  decryptEnvelope,
  envelopeAad,
  envelopeKeysFrom,
  sealEnvelope,
  verifyEnvelope,
  EnvelopeError,
} from './envelope.ts';
import { SessionKeys } from './session-keys.ts';
import type { Envelope } from '../rpc/tss-service.ts';
import { oldEciesAttempts } from '../../test/support/old-ecies.ts';

function node(id: string) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { id, keys: envelopeKeysFrom(id, privateKey), privateKey, publicKey };
}
const a = node('tss1');
const b = node('tss2');
const c = node('tss3');
const secret = new TextEncoder().encode('share for tss2: 0123456789abcdef');
const header = { sessionId: 's-1', round: 1, from: 'tss1', to: 'tss2' };

/** Two nodes that exchanged ephemeral keys for `sessionId`. */
function pair(sessionId = 's-1') {
  const ka = new SessionKeys(sessionId, 'tss1');
  const kb = new SessionKeys(sessionId, 'tss2');
  ka.acceptPeer('tss2', kb.publicKey);
  kb.acceptPeer('tss1', ka.publicKey);
  return { ka, kb };
}

function flip(bytes: Uint8Array, i = 0): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[i % copy.length]! ^= 1;
  return copy;
}

function expectError(fn: () => unknown, code: EnvelopeError['code']) {
  assert.throws(fn, (e: unknown) => e instanceof EnvelopeError && e.code === code);
}

function open(
  env: Envelope,
  expected: { sessionId: string; round: number },
  to: string,
  from: KeyObject,
  k: SessionKeys,
) {
  const { payload } = verifyEnvelope(env, expected, to, from);
  return env.to === '' ? payload : decryptEnvelope(env, k.pairSecret(env.from));
}

test('point-to-point: the recipient opens it, the ciphertext hides the payload', () => {
  const { ka, kb } = pair();
  const env = sealEnvelope(header, secret, a.keys, { pairSecret: ka.pairSecret('tss2') });
  assert.ok(!Buffer.from(env.body).includes(Buffer.from(secret)));
  assert.equal(env.ephemeral_public_key.length, 0);
  assert.deepEqual(open(env, { sessionId: 's-1', round: 1 }, 'tss2', a.publicKey, kb), secret);
});

test('broadcast: signed, readable by everyone, and carries the signed ephemeral key', () => {
  const ka = new SessionKeys('s-1', 'tss1');
  const env = sealEnvelope({ ...header, round: 0, to: '' }, secret, a.keys, { ephemeralPublicKey: ka.publicKey });
  const opened = verifyEnvelope(env, { sessionId: 's-1', round: 0 }, 'tss3', a.publicKey);
  assert.deepEqual(opened.payload, secret);
  assert.deepEqual(opened.ephemeralPublicKey, Uint8Array.from(ka.publicKey));
});

test('a flipped bit anywhere is rejected', () => {
  const { ka, kb } = pair();
  const env = sealEnvelope(header, secret, a.keys, { pairSecret: ka.pairSecret('tss2') });
  const fields: (keyof Envelope)[] = ['body', 'iv', 'signature'];
  for (const field of fields) {
    for (const i of [0, 7, 31]) {
      const bad = { ...env, [field]: flip(env[field] as Uint8Array, i) };
      assert.throws(() => open(bad, { sessionId: 's-1', round: 1 }, 'tss2', a.publicKey, kb), EnvelopeError, field);
    }
  }
  const badBroadcast = sealEnvelope({ ...header, to: '' }, secret, a.keys);
  expectError(
    () =>
      verifyEnvelope(
        { ...badBroadcast, body: flip(badBroadcast.body, 3) },
        { sessionId: 's-1', round: 1 },
        'tss3',
        a.publicKey,
      ),
    'AUTH_FAILED',
  );
});

test('a relay that substitutes the ephemeral key of a round-0 broadcast is caught by the signature', () => {
  const ka = new SessionKeys('s-1', 'tss1');
  const relay = new SessionKeys('s-1', 'tss1'); // the relay's own key, to sit in the middle
  const env = sealEnvelope({ ...header, round: 0, to: '' }, secret, a.keys, { ephemeralPublicKey: ka.publicKey });
  expectError(
    () =>
      verifyEnvelope(
        { ...env, ephemeral_public_key: relay.publicKey },
        { sessionId: 's-1', round: 0 },
        'tss2',
        a.publicKey,
      ),
    'AUTH_FAILED',
  );
  // Nor can it re-sign: only tss1's certificate key makes a signature that verifies as tss1.
  const resigned = sealEnvelope({ ...header, round: 0, to: '' }, secret, c.keys, {
    ephemeralPublicKey: relay.publicKey,
  });
  expectError(() => verifyEnvelope(resigned, { sessionId: 's-1', round: 0 }, 'tss2', a.publicKey), 'AUTH_FAILED');
});

test('an ephemeral key from another session is refused', () => {
  const old = new SessionKeys('s-0', 'tss1');
  const env = sealEnvelope({ ...header, sessionId: 's-0', round: 0, to: '' }, secret, a.keys, {
    ephemeralPublicKey: old.publicKey,
  });
  expectError(() => verifyEnvelope(env, { sessionId: 's-1', round: 0 }, 'tss2', a.publicKey), 'MISDIRECTED');
  expectError(
    () => verifyEnvelope({ ...env, session_id: 's-1' }, { sessionId: 's-1', round: 0 }, 'tss2', a.publicKey),
    'AUTH_FAILED',
  );
});

test('session keys refuse reflection, reuse across peers, a second key, bad sizes and low-order points', () => {
  const ka = new SessionKeys('s-1', 'tss1');
  const kb = new SessionKeys('s-1', 'tss2');
  expectError(() => ka.acceptPeer('tss2', ka.publicKey), 'MALFORMED');
  expectError(() => ka.acceptPeer('tss2', new Uint8Array(31)), 'MALFORMED');
  expectError(() => ka.acceptPeer('tss2', new Uint8Array(32)), 'MALFORMED'); // the all-zero point has order 4
  ka.acceptPeer('tss2', kb.publicKey);
  expectError(() => ka.acceptPeer('tss2', new SessionKeys('s-1', 'x').publicKey), 'MALFORMED');
  expectError(() => ka.acceptPeer('tss3', kb.publicKey), 'MALFORMED');
  expectError(() => ka.acceptPeer('tss1', kb.publicKey), 'MALFORMED');
});

test('the pairwise secret is bound to the session: the same ephemerals in another session give another key', () => {
  const { ka } = pair('s-1');
  const secret1 = Buffer.from(ka.pairSecret('tss2'));
  const env = sealEnvelope(header, secret, a.keys, { pairSecret: secret1 });
  const other = pair('s-2');
  expectError(() => decryptEnvelope(env, other.kb.pairSecret('tss1')), 'AUTH_FAILED');
});

test('after the session, neither party holds a key, and certificate keys decrypt nothing (forward secrecy)', () => {
  const { ka, kb } = pair();
  const env = sealEnvelope(header, secret, a.keys, { pairSecret: ka.pairSecret('tss2') });
  ka.erase();
  kb.erase();
  expectError(() => kb.pairSecret('tss1'), 'AUTH_FAILED');
  assert.equal(
    oldEciesAttempts(
      env,
      [a.privateKey, b.privateKey, c.privateKey],
      [a, b, c].map((n) => n.publicKey),
    ),
    0,
  );
});

test('replay into another session or round is rejected, even with the header rewritten', () => {
  const { ka } = pair();
  const env = sealEnvelope(header, secret, a.keys, { pairSecret: ka.pairSecret('tss2') });
  expectError(() => verifyEnvelope(env, { sessionId: 's-2', round: 1 }, 'tss2', a.publicKey), 'MISDIRECTED');
  expectError(() => verifyEnvelope(env, { sessionId: 's-1', round: 2 }, 'tss2', a.publicKey), 'MISDIRECTED');
  expectError(
    () => verifyEnvelope({ ...env, session_id: 's-2' }, { sessionId: 's-2', round: 1 }, 'tss2', a.publicKey),
    'AUTH_FAILED',
  );
  expectError(
    () => verifyEnvelope({ ...env, round: 2 }, { sessionId: 's-1', round: 2 }, 'tss2', a.publicKey),
    'AUTH_FAILED',
  );
});

test('a message injected in another node’s name is rejected', () => {
  const { ka } = pair();
  const forged = sealEnvelope(header, secret, c.keys, { pairSecret: ka.pairSecret('tss2') });
  expectError(() => verifyEnvelope(forged, { sessionId: 's-1', round: 1 }, 'tss2', a.publicKey), 'AUTH_FAILED');
  const genuine = sealEnvelope({ ...header, from: 'tss3' }, secret, c.keys, { pairSecret: ka.pairSecret('tss2') });
  expectError(
    () => verifyEnvelope({ ...genuine, from: 'tss1' }, { sessionId: 's-1', round: 1 }, 'tss2', a.publicKey),
    'AUTH_FAILED',
  );
});

test('redirecting a message to another recipient fails', () => {
  const { ka } = pair();
  const env = sealEnvelope(header, secret, a.keys, { pairSecret: ka.pairSecret('tss2') });
  expectError(() => verifyEnvelope(env, { sessionId: 's-1', round: 1 }, 'tss3', a.publicKey), 'MISDIRECTED');
  expectError(
    () => verifyEnvelope({ ...env, to: 'tss3' }, { sessionId: 's-1', round: 1 }, 'tss3', a.publicKey),
    'AUTH_FAILED',
  );
});

test('the attacker above does open an envelope sealed the former way (ECIES to the certificate key)', () => {
  const aad = envelopeAad('s-1', 1, 'tss1', 'tss2');
  const recipient = createECDH('prime256v1');
  recipient.setPrivateKey(Buffer.from(b.privateKey.export({ format: 'jwk' }).d!, 'base64url'));
  const eph = createECDH('prime256v1');
  const ephPublic = eph.generateKeys();
  const salt = Buffer.concat([ephPublic, recipient.getPublicKey()]);
  const key = Buffer.from(hkdfSync('sha256', eph.computeSecret(recipient.getPublicKey()), salt, aad, 32));
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(aad);
  const body = Buffer.concat([cipher.update(secret), cipher.final(), cipher.getAuthTag()]);
  const env = {
    ...sealEnvelope(header, secret, a.keys, { pairSecret: new Uint8Array(32) }),
    body,
    iv,
    ephemeral_public_key: ephPublic,
  };
  assert.ok(
    oldEciesAttempts(
      env,
      [a.privateKey, b.privateKey, c.privateKey],
      [a, b, c].map((n) => n.publicKey),
    ) > 0,
  );
});
