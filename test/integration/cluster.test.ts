/**
 * End to end through real processes: four TSS nodes and the gateway over mTLS on loopback, driven
 * through the HTTP API with the SDK. Signatures are checked with standard, non-threshold verifiers.
 */
import { describe, test, beforeAll, afterAll } from 'vitest';
import assert from 'node:assert/strict';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { hexToBytes, bytesToHex } from '@noble/hashes/utils.js';
import { base58 } from '@scure/base';
import { CustosClient, CustosApiError } from '../../sdk/index.ts';
import { startLocalCluster, type LocalCluster } from '../support/local-cluster.ts';

const ETH_DST = 'BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_';
const hex = (b: Uint8Array) => `0x${bytesToHex(b)}`;
const unhex = (s: string) => hexToBytes(s.replace(/^0x/, ''));

function verifyBls(signature: string, message: Uint8Array, publicKey: string): boolean {
  const bls = bls12_381.longSignatures;
  const point = bls.hash(message, ETH_DST);
  return bls.verify(bls.Signature.fromBytes(unhex(signature)), point, bls12_381.G1.Point.fromBytes(unhex(publicKey)));
}

let cluster: LocalCluster;
let client: CustosClient;

beforeAll(async () => {
  cluster = await startLocalCluster({ gg18PoolSize: 0 });
  client = new CustosClient({ baseUrl: cluster.baseUrl, accessKey: cluster.accessKey, secretKey: cluster.secretKey });
});
afterAll(async () => {
  await cluster?.stop();
});

describe('with all four nodes up', () => {
  test('EDDSA: generate, sign, verify with plain ed25519', async () => {
    const key = await client.generateKey({ format: { curve: 'ED25519', algo_type: 'EDDSA' }, label: 'it-eddsa' });
    assert.equal(key.status, 'ACTIVE');
    assert.equal(key.shard_nodes.length, 3);
    assert.equal(key.address, base58.encode(unhex(key.public_key)));
    const message = new TextEncoder().encode('pay 1 SOL to bob');
    const sig = await client.sign(key.key_id, { data: hex(message), data_type: 'RAW' });
    assert.equal(sig.signer_nodes.length, 2);
    assert.ok(ed25519.verify(unhex(sig.signature), message, unhex(key.public_key)));
    assert.ok(
      !ed25519.verify(unhex(sig.signature), new TextEncoder().encode('pay 2 SOL to bob'), unhex(key.public_key)),
    );
    const fetched = await client.getKey(key.key_id);
    assert.deepEqual(fetched.public_key, key.public_key);
  });

  test('BLS: generate, sign, verify with the Ethereum consensus ciphersuite', async () => {
    const key = await client.generateKey({ format: { curve: 'BLS12_381', algo_type: 'BLS' } });
    assert.equal(unhex(key.public_key).length, 48);
    const message = unhex('0x' + 'ab'.repeat(32));
    const sig = await client.sign(key.key_id, { data: hex(message), data_type: 'RAW' });
    assert.equal(unhex(sig.signature).length, 96);
    assert.ok(verifyBls(sig.signature, message, key.public_key));
    assert.ok(!verifyBls(sig.signature, unhex('0x' + 'ac'.repeat(32)), key.public_key));
  });

  test('3-of-4 keys sign with three holders', async () => {
    const key = await client.generateKey({
      format: { curve: 'ED25519', algo_type: 'EDDSA' },
      shard_properties: { shard_count: 4, threshold: 3 },
    });
    const message = new TextEncoder().encode('three of four');
    const sig = await client.sign(key.key_id, { data: hex(message), data_type: 'RAW' });
    assert.equal(sig.signer_nodes.length, 3);
    assert.ok(ed25519.verify(unhex(sig.signature), message, unhex(key.public_key)));
  });

  test('a frozen key refuses to sign until reactivated', async () => {
    const key = await client.generateKey({ format: { curve: 'ED25519', algo_type: 'EDDSA' } });
    await client.updateStatus(key.key_id, { status: 'FROZEN' });
    await assert.rejects(
      client.sign(key.key_id, { data: '0x01', data_type: 'RAW' }),
      (e: unknown) => e instanceof CustosApiError && e.status === 409 && e.code === 'KEY_NOT_ACTIVE',
    );
    await client.updateStatus(key.key_id, { status: 'ACTIVE' });
    const sig = await client.sign(key.key_id, { data: '0x01', data_type: 'RAW' });
    assert.ok(ed25519.verify(unhex(sig.signature), unhex('0x01'), unhex(key.public_key)));
  });
});

describe('with a node down', () => {
  test('keygen succeeds on the other three and a key held by the dead node still signs', async () => {
    const keyBefore = await client.generateKey({ format: { curve: 'ED25519', algo_type: 'EDDSA' } });
    const victim = keyBefore.shard_nodes[0]!;
    await cluster.killNode(victim);
    try {
      const message = new TextEncoder().encode('signed while a holder is down');
      const sig = await client.sign(keyBefore.key_id, { data: hex(message), data_type: 'RAW' });
      assert.ok(!sig.signer_nodes.includes(victim));
      assert.ok(ed25519.verify(unhex(sig.signature), message, unhex(keyBefore.public_key)));

      for (const algo of ['EDDSA', 'BLS'] as const) {
        const key = await client.generateKey({
          format: { curve: algo === 'BLS' ? 'BLS12_381' : 'ED25519', algo_type: algo },
        });
        assert.ok(!key.shard_nodes.includes(victim), `${algo} key placed on the dead node`);
        assert.equal(key.shard_nodes.length, 3);
      }
      const ready = await client.ready();
      assert.equal(ready.ready, true);
      assert.equal(ready.nodes.find((n) => n.node_id === victim)?.reachable, false);
    } finally {
      await cluster.startNode(victim);
    }
  });

  test('a restarted node keeps its shares and signs with them', async () => {
    const key = await client.generateKey({ format: { curve: 'BLS12_381', algo_type: 'BLS' } });
    const [restarted, other] = key.shard_nodes as [string, string, string];
    await cluster.killNode(restarted);
    await cluster.startNode(restarted);
    // With another holder down, the restarted node must take part.
    await cluster.killNode(other);
    try {
      const message = new TextEncoder().encode('after restart');
      const sig = await waitForSignature(() => client.sign(key.key_id, { data: hex(message), data_type: 'RAW' }));
      assert.ok(sig.signer_nodes.includes(restarted));
      assert.ok(verifyBls(sig.signature, message, key.public_key));
    } finally {
      await cluster.startNode(other);
    }
  });

  test('with two of three holders down, signing is refused as unavailable', async () => {
    const key = await client.generateKey({ format: { curve: 'ED25519', algo_type: 'EDDSA' } });
    const [a, b] = key.shard_nodes as [string, string, string];
    await cluster.killNode(a);
    await cluster.killNode(b);
    try {
      await assert.rejects(
        new CustosClient({
          baseUrl: cluster.baseUrl,
          accessKey: cluster.accessKey,
          secretKey: cluster.secretKey,
          retry: { maxAttempts: 1 },
        }).sign(key.key_id, { data: '0x02', data_type: 'RAW' }),
        (e: unknown) => e instanceof CustosApiError && e.status === 503 && e.code === 'CLUSTER_UNAVAILABLE',
      );
    } finally {
      await cluster.startNode(a);
      await cluster.startNode(b);
    }
  });
});

describe('restarts', () => {
  test('the gateway restarted finds every key, and they still sign', async () => {
    const key = await client.generateKey({
      format: { curve: 'ED25519', algo_type: 'EDDSA' },
      label: 'survives-restart',
    });
    await cluster.restartGateway();
    const listed = await client.listKeys({ label: 'survives-restart' });
    assert.deepEqual(
      listed.keys.map((k) => k.key_id),
      [key.key_id],
    );
    const sig = await client.sign(key.key_id, { data: '0x03', data_type: 'RAW' });
    assert.ok(ed25519.verify(unhex(sig.signature), unhex('0x03'), unhex(key.public_key)));
  });
});

/** Right after a restart the gateway's health view may lag by a probe; the SDK's retries cover 503. */
async function waitForSignature<T>(fn: () => Promise<T>): Promise<T> {
  return fn();
}
