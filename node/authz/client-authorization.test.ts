import { describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { createPrivateKey, randomBytes } from 'node:crypto';
import {
  authorizationStatement,
  generateClientKeyPair,
  GATEWAY_TRUSTED_POLICY,
  messageSha256,
  policyChangeStatement,
  signStatement,
  type ClientKeyAlgorithm,
  type SignAuthorization,
  type SignPolicy,
} from '../../common/authz/client-keys.ts';
import {
  AuthorizationError,
  checkPolicyChange,
  checkSignAuthorization,
  NonceReplayCache,
} from './client-authorization.ts';

const KEY_A = `key_${'a'.repeat(32)}`;
const KEY_B = `key_${'b'.repeat(32)}`;
const NOW = 1_800_000_000_000;

function client(name: string, algorithm: ClientKeyAlgorithm) {
  const pair = generateClientKeyPair(algorithm);
  const key = createPrivateKey(pair.privateKeyPem);
  return {
    entry: { access_key: name, algorithm, public_key: pair.publicKey },
    authorize(keyId: string, message: Uint8Array, over: Partial<SignAuthorization> = {}): SignAuthorization {
      const body = {
        access_key: name,
        key_id: keyId,
        data_type: 'RAW',
        message_sha256: messageSha256(message),
        timestamp_ms: NOW,
        nonce: randomBytes(16).toString('hex'),
        ...over,
      };
      return { ...body, signature: signStatement(key, authorizationStatement(body)) };
    },
    approve(keyId: string, policy: SignPolicy) {
      return { access_key: name, signature: signStatement(key, policyChangeStatement(keyId, policy)) };
    },
  };
}

const alice = client('alice', 'ED25519');
const bob = client('bob', 'P256');
const mallory = client('mallory', 'ED25519');
const policy: SignPolicy = { version: 1, signers: [alice.entry, bob.entry], change_quorum: 2 };
const message = new TextEncoder().encode('pay 1 BTC to alice');

function check(
  authorization: SignAuthorization | undefined,
  over: { keyId?: string; msg?: Uint8Array; p?: SignPolicy } = {},
) {
  checkSignAuthorization({
    policy: over.p ?? policy,
    keyId: over.keyId ?? KEY_A,
    message: over.msg ?? message,
    authorization,
    nowMs: NOW,
    notBeforeMs: NOW - 60_000,
  });
}

describe('client authorisation at a holder node', () => {
  test('an authorised client (Ed25519 and P-256) is accepted for exactly its message and key', () => {
    check(alice.authorize(KEY_A, message));
    check(bob.authorize(KEY_A, message));
  });

  test('a key that trusts the gateway needs no authorisation', () => {
    check(undefined, { p: GATEWAY_TRUSTED_POLICY });
  });

  test('attacker: no authorisation, another message, another key, an unlisted client, a forged signature', () => {
    assert.throws(() => check(undefined), /signs only with a client authorisation/);
    assert.throws(
      () => check(alice.authorize(KEY_A, message), { msg: new TextEncoder().encode('pay 9 BTC') }),
      /did not authorise this message/,
    );
    assert.throws(() => check(alice.authorize(KEY_A, message), { keyId: KEY_B }), /is for key_a+, not key_b+/);
    // Relabelling the authorisation for key B breaks the signature.
    assert.throws(
      () => check({ ...alice.authorize(KEY_A, message), key_id: KEY_B }, { keyId: KEY_B }),
      /does not verify/,
    );
    assert.throws(() => check(mallory.authorize(KEY_A, message)), /mallory may not sign/);
    // Mallory signs and claims to be alice.
    assert.throws(() => check({ ...mallory.authorize(KEY_A, message), access_key: 'alice' }), /does not verify/);
    const good = alice.authorize(KEY_A, message);
    assert.throws(() => check({ ...good, data_type: 'HASH' }), /does not verify/);
  });

  test('attacker: stale, future, and pre-restart authorisations are refused', () => {
    assert.throws(() => check(alice.authorize(KEY_A, message, { timestamp_ms: NOW - 301_000 })), /old or ahead/);
    assert.throws(() => check(alice.authorize(KEY_A, message, { timestamp_ms: NOW + 301_000 })), /old or ahead/);
    assert.throws(() => check(alice.authorize(KEY_A, message, { timestamp_ms: NOW - 120_000 })), /predates this node/);
  });

  test('the replay cache refuses a nonce twice, per access key, and forgets after the window', () => {
    const cache = new NonceReplayCache();
    assert.ok(cache.claim('alice', 'n'.repeat(16), NOW, NOW));
    assert.ok(!cache.claim('alice', 'n'.repeat(16), NOW, NOW + 1000));
    assert.ok(cache.claim('bob', 'n'.repeat(16), NOW, NOW));
    assert.ok(cache.claim('alice', 'n'.repeat(16), NOW, NOW + 2 * 300_000 + 1));
    const full = new NonceReplayCache(1);
    assert.ok(full.claim('alice', 'a'.repeat(16), NOW, NOW));
    assert.throws(() => full.claim('alice', 'b'.repeat(16), NOW, NOW), AuthorizationError);
  });
});

describe('sign-policy changes checked by the node', () => {
  const next: SignPolicy = { version: 2, signers: [alice.entry], change_quorum: 1 };

  test('the quorum of current signers moves the policy one version on', () => {
    checkPolicyChange(policy, {
      key_id: KEY_A,
      policy: next,
      approvals: [alice.approve(KEY_A, next), bob.approve(KEY_A, next)],
    });
  });

  test('attacker: too few approvals, a duplicated approver, an outsider, another key, a skipped or replayed version', () => {
    const change = (approvals: { access_key: string; signature: string }[], p = next, keyId = KEY_A) =>
      checkPolicyChange(policy, { key_id: keyId, policy: p, approvals });
    assert.throws(() => change([alice.approve(KEY_A, next)]), /1 distinct approvals, the current policy needs 2/);
    assert.throws(() => change([alice.approve(KEY_A, next), alice.approve(KEY_A, next)]), /1 distinct approvals/);
    assert.throws(
      () => change([alice.approve(KEY_A, next), mallory.approve(KEY_A, next)]),
      /mallory is not a current signer/,
    );
    assert.throws(() => change([alice.approve(KEY_B, next), bob.approve(KEY_B, next)]), /does not verify/);
    const skip = { ...next, version: 3 };
    assert.throws(() => change([alice.approve(KEY_A, skip), bob.approve(KEY_A, skip)], skip), /does not follow/);
    // A change approved for version 2 cannot be replayed once the key is at version 2.
    assert.throws(
      () => checkPolicyChange(next, { key_id: KEY_A, policy: next, approvals: [alice.approve(KEY_A, next)] }),
      /does not follow/,
    );
    // Approvals of one policy do not carry over to another.
    const evil: SignPolicy = { version: 2, signers: [mallory.entry], change_quorum: 1 };
    assert.throws(
      () => change([alice.approve(KEY_A, next), bob.approve(KEY_A, next)], evil),
      /mallory|does not verify/,
    );
    const toGateway: SignPolicy = { version: 2, signers: [], change_quorum: 1 };
    assert.throws(
      () => change([alice.approve(KEY_A, toGateway), bob.approve(KEY_A, toGateway)], toGateway),
      /back to the gateway/,
    );
  });

  test('a key that trusts the gateway cannot gain or change signers afterwards', () => {
    assert.throws(
      () =>
        checkPolicyChange(GATEWAY_TRUSTED_POLICY, {
          key_id: KEY_A,
          policy: next,
          approvals: [alice.approve(KEY_A, next)],
        }),
      /fixed at keygen/,
    );
  });
});
