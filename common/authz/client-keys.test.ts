import { test } from 'vitest';
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import {
  ClientPublicKeySchema,
  generateClientKeyPair,
  policyHash,
  signStatement,
  SignPolicySchema,
  verifyStatement,
  type SignPolicy,
} from './client-keys.ts';

for (const algorithm of ['ED25519', 'P256'] as const) {
  test(`${algorithm}: a generated key pair signs statements its public key verifies, and nothing else`, () => {
    const pair = generateClientKeyPair(algorithm);
    const entry = ClientPublicKeySchema.parse({ access_key: 'c1', algorithm, public_key: pair.publicKey });
    const sig = signStatement(createPrivateKey(pair.privateKeyPem), Buffer.from('statement'));
    assert.ok(verifyStatement(entry, Buffer.from('statement'), sig));
    assert.ok(!verifyStatement(entry, Buffer.from('statement!'), sig));
    const flipped = (sig[0] === '0' ? '1' : '0') + sig.slice(1);
    assert.ok(!verifyStatement(entry, Buffer.from('statement'), flipped));
    assert.ok(!verifyStatement(entry, Buffer.from('statement'), 'zz'));
  });
}

test('public keys that are not points, or of the wrong length for the algorithm, are refused', () => {
  assert.ok(
    !ClientPublicKeySchema.safeParse({ access_key: 'c', algorithm: 'P256', public_key: '02' + 'ff'.repeat(32) })
      .success,
  );
  assert.ok(
    !ClientPublicKeySchema.safeParse({ access_key: 'c', algorithm: 'ED25519', public_key: '02' + '11'.repeat(32) })
      .success,
  );
  assert.ok(
    !ClientPublicKeySchema.safeParse({ access_key: 'c', algorithm: 'P256', public_key: '11'.repeat(32) }).success,
  );
});

test('the policy hash ignores signer order but not content', () => {
  const a = { access_key: 'a', algorithm: 'ED25519' as const, public_key: generateClientKeyPair('ED25519').publicKey };
  const b = { access_key: 'b', algorithm: 'P256' as const, public_key: generateClientKeyPair('P256').publicKey };
  const p: SignPolicy = SignPolicySchema.parse({ version: 1, signers: [a, b], change_quorum: 1 });
  assert.equal(policyHash(p), policyHash({ ...p, signers: [b, a] }));
  assert.notEqual(policyHash(p), policyHash({ ...p, change_quorum: 2 }));
  assert.notEqual(policyHash(p), policyHash({ ...p, signers: [a] }));
  assert.ok(!SignPolicySchema.safeParse({ version: 1, signers: [a, a], change_quorum: 1 }).success);
  assert.ok(!SignPolicySchema.safeParse({ version: 1, signers: [a], change_quorum: 2 }).success);
});
