/**
 * Nodes verify who authorised a signature (docs/security.md): against real TSS node processes, a
 * test adversary holding the gateway's certificate and key (so it owns the gateway's identity,
 * database and process) drives sessions directly. Without a client authorisation for exactly this
 * key and message no node takes part; a replayed or relabelled authorisation is refused. Through
 * the real gateway, the SDK signs with an asymmetric access key, and an HMAC key cannot sign.
 */
import { describe, test, beforeAll, afterAll } from 'vitest';
import assert from 'node:assert/strict';
import { ed25519 } from '@noble/curves/ed25519.js';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { pino } from 'pino';
import {
  authorizationStatement,
  generateClientKeyPair,
  messageSha256,
  policyChangeStatement,
  signStatement,
  type ClientKeyAlgorithm,
  type SignAuthorization,
  type SignPolicy,
} from '../../common/authz/client-keys.ts';
import { builtinSchemes } from '../../common/protocols/registry.ts';
import { createGrpcCoordinator } from '../../gateway/coordinator/grpc-coordinator.ts';
import { MpcSessionError, type MpcCoordinator } from '../../gateway/coordinator/types.ts';
import { CustosApiError, CustosClient } from '../../sdk/index.ts';
import { startLocalCluster, type LocalCluster } from '../support/local-cluster.ts';

let cluster: LocalCluster;
let adversary: MpcCoordinator;
const holders = ['tss1', 'tss2', 'tss3'];
const newKeyId = () => `key_${randomBytes(16).toString('hex')}`;

function clientKey(name: string, algorithm: ClientKeyAlgorithm) {
  const pair = generateClientKeyPair(algorithm);
  const key = createPrivateKey(pair.privateKeyPem);
  return {
    pem: pair.privateKeyPem,
    entry: { access_key: name, algorithm, public_key: pair.publicKey },
    authorize(keyId: string, message: Uint8Array): SignAuthorization {
      const body = {
        access_key: name,
        key_id: keyId,
        data_type: 'RAW',
        message_sha256: messageSha256(message),
        timestamp_ms: Date.now(),
        nonce: randomBytes(16).toString('base64url'),
      };
      return { ...body, signature: signStatement(key, authorizationStatement(body)) };
    },
    approve(keyId: string, policy: SignPolicy) {
      return { access_key: name, signature: signStatement(key, policyChangeStatement(keyId, policy)) };
    },
  };
}

const alice = clientKey('alice', 'ED25519');
const bob = clientKey('bob', 'P256');
const mallory = clientKey('mallory', 'ED25519');
const policy: SignPolicy = { version: 1, signers: [alice.entry], change_quorum: 1 };

beforeAll(async () => {
  cluster = await startLocalCluster({ gg18PoolSize: 0 });
  adversary = createGrpcCoordinator({
    home: cluster.home,
    nodes: cluster.nodes.map((n) => ({ id: n.id, address: n.address })),
    logger: pino({ level: 'silent' }),
    schemes: builtinSchemes(),
    roundTimeoutMs: 3000,
    healthTtlMs: 0,
  });
});
afterAll(async () => {
  await adversary?.close();
  await cluster?.stop();
});

async function keygen(signPolicy?: SignPolicy) {
  const keyId = newKeyId();
  const out = await adversary.keygen({ keyId, algo: 'EDDSA', holders, threshold: 2, signPolicy });
  return { keyId, ...out };
}

function sign(key: Awaited<ReturnType<typeof keygen>>, message: Uint8Array, authorization?: SignAuthorization) {
  return adversary.sign({
    keyId: key.keyId,
    algo: 'EDDSA',
    holders,
    signers: ['tss1', 'tss2'],
    threshold: 2,
    publicKey: key.publicKey,
    publicInfo: key.publicInfo,
    message,
    authorization,
  });
}

async function refused(promise: Promise<unknown>, reason: RegExp): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof MpcSessionError, String(e));
    assert.equal(e.kind, 'unauthorized', e.message);
    assert.match(e.message, reason);
    return true;
  });
}

describe('a gateway adversary against nodes that check client authorisations', () => {
  test('no signature for a message no authorised client signed; replays and relabelling refused', async () => {
    const keyA = await keygen(policy);
    const keyB = await keygen(policy);
    const wanted = new TextEncoder().encode('pay 1 SOL to alice');
    const evil = new TextEncoder().encode('pay 1000 SOL to mallory');

    await refused(sign(keyA, evil), /signs only with a client authorisation/);
    await refused(sign(keyA, evil, alice.authorize(keyA.keyId, wanted)), /did not authorise this message/);
    await refused(sign(keyA, evil, mallory.authorize(keyA.keyId, evil)), /mallory may not sign/);
    await refused(sign(keyA, evil, { ...mallory.authorize(keyA.keyId, evil), access_key: 'alice' }), /does not verify/);

    const good = alice.authorize(keyA.keyId, wanted);
    const sig = await sign(keyA, wanted, good);
    assert.ok(ed25519.verify(sig, wanted, keyA.publicKey));

    await refused(sign(keyA, wanted, good), /already used/);
    // An authorisation for key A does not sign with key B, neither as is nor relabelled.
    const forA = alice.authorize(keyA.keyId, wanted);
    await refused(sign(keyB, wanted, forA), /is for key_[0-9a-f]+, not key_/);
    await refused(sign(keyB, wanted, { ...forA, key_id: keyB.keyId }), /does not verify/);
  });

  test('a policy changes only with approvals the nodes verify', async () => {
    const key = await keygen(policy);
    const next: SignPolicy = { version: 2, signers: [alice.entry, bob.entry], change_quorum: 2 };
    await assert.rejects(
      adversary.changeSignPolicy(holders, {
        key_id: key.keyId,
        policy: next,
        approvals: [mallory.approve(key.keyId, next)],
      }),
      /mallory is not a current signer/,
    );
    const message = new TextEncoder().encode('from bob');
    await refused(sign(key, message, bob.authorize(key.keyId, message)), /bob may not sign/);
    await adversary.changeSignPolicy(holders, {
      key_id: key.keyId,
      policy: next,
      approvals: [alice.approve(key.keyId, next)],
    });
    const sig = await sign(key, message, bob.authorize(key.keyId, message));
    assert.ok(ed25519.verify(sig, message, key.publicKey));
    // Taking alice out now needs both of them; alice alone is not enough.
    const third: SignPolicy = { version: 3, signers: [bob.entry], change_quorum: 1 };
    await assert.rejects(
      adversary.changeSignPolicy(holders, {
        key_id: key.keyId,
        policy: third,
        approvals: [alice.approve(key.keyId, third)],
      }),
      /1 distinct approvals, the current policy needs 2/,
    );
  });

  test('a key made without a policy still trusts the gateway (HMAC compatibility)', async () => {
    const key = await keygen();
    const message = new TextEncoder().encode('anything');
    assert.ok(ed25519.verify(await sign(key, message), message, key.publicKey));
  });
});

describe('through the real gateway with the SDK', () => {
  test('an asymmetric access key signs; the HMAC key is refused for its key', async () => {
    const admin = new CustosClient({
      baseUrl: cluster.baseUrl,
      accessKey: cluster.accessKey,
      secretKey: cluster.secretKey,
    });
    const carol = clientKey(`carol-${randomBytes(4).toString('hex')}`, 'P256');
    await admin.createAccessKey({ ...carol.entry, roles: ['key-admin', 'signer'] });
    const client = new CustosClient({
      baseUrl: cluster.baseUrl,
      accessKey: carol.entry.access_key,
      privateKey: carol.pem,
    });
    const key = await client.generateKey({ format: { curve: 'ED25519', algo_type: 'EDDSA' } });
    assert.deepEqual(key.sign_policy, { version: 1, signers: [carol.entry.access_key], change_quorum: 1 });
    const message = new TextEncoder().encode('signed by carol');
    const data = `0x${Buffer.from(message).toString('hex')}`;
    const sig = await client.sign(key.key_id, { data, data_type: 'RAW' });
    assert.ok(
      ed25519.verify(Buffer.from(sig.signature.slice(2), 'hex'), message, Buffer.from(key.public_key.slice(2), 'hex')),
    );
    await assert.rejects(admin.sign(key.key_id, { data, data_type: 'RAW' }), (e: unknown) => {
      assert.ok(e instanceof CustosApiError);
      assert.equal(e.status, 403);
      assert.equal(e.code, 'CLIENT_AUTHORIZATION_REQUIRED');
      return true;
    });
  });
});
