/**
 * DKLS23 threshold ECDSA end to end through real node and gateway processes: keygen, HASH,
 * EIP-191 and EIP-712 signatures checked with ethers and @noble/curves, GG18's address set, and
 * signing with one of the three holders killed.
 */
import { test, beforeAll, afterAll } from 'vitest';
import assert from 'node:assert/strict';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { p2pkh, p2wpkh } from '@scure/btc-signer';
import { computeAddress, recoverAddress, verifyMessage, verifyTypedData, Signature } from 'ethers';
import { CustosClient, type Key } from '../../sdk/index.ts';
import { startLocalCluster, type LocalCluster } from '../support/local-cluster.ts';

let cluster: LocalCluster;
let client: CustosClient;
let key: Key;

const typedData = {
  types: {
    EIP712Domain: [
      { name: 'name', type: 'string' },
      { name: 'chainId', type: 'uint256' },
    ],
    Mail: [{ name: 'contents', type: 'string' }],
  },
  primaryType: 'Mail',
  domain: { name: 'Custody', chainId: 1 },
  message: { contents: 'release 5 ETH' },
};

beforeAll(async () => {
  cluster = await startLocalCluster({ gg18PoolSize: 0 });
  client = new CustosClient({
    baseUrl: cluster.baseUrl,
    accessKey: cluster.accessKey,
    secretKey: cluster.secretKey,
    timeoutMs: 170_000,
  });
  key = await client.generateKey({
    format: { algo_type: 'DKLS23', curve: 'SECP256K1' },
    shard_properties: { shard_count: 3, threshold: 2 },
    label: 'dkls23-it',
  });
});
afterAll(async () => {
  await cluster?.stop();
});

test('a DKLS23 key has the same EVM, Bitcoin and TRON addresses a GG18 key has', () => {
  assert.equal(key.format.algo_type, 'DKLS23');
  assert.equal(key.shard_nodes.length, 3);
  const publicKey = hexToBytes(key.public_key.slice(2));
  assert.equal(publicKey.length, 33);
  assert.equal(key.address, computeAddress(key.public_key));
  assert.equal(key.addresses.BITCOIN_P2WPKH, p2wpkh(publicKey).address);
  assert.equal(key.addresses.BITCOIN_P2PKH, p2pkh(publicKey).address);
  assert.match(key.addresses.TRON!, /^T[1-9A-HJ-NP-Za-km-z]{33}$/);
});

test('HASH: a low-s signature that noble verifies and ethers recovers to the key address', async () => {
  const digest = `0x${bytesToHex(secp256k1.utils.randomSecretKey())}`;
  const sig = await client.sign(key.key_id, { data: digest, data_type: 'HASH' });
  const bytes = hexToBytes(sig.signature.slice(2));
  assert.equal(bytes.length, 65);
  assert.equal(sig.v, 27 + sig.recovery_id!);
  assert.ok(
    secp256k1.verify(bytes.subarray(0, 64), hexToBytes(digest.slice(2)), hexToBytes(key.public_key.slice(2)), {
      prehash: false,
      lowS: true,
    }),
  );
  assert.equal(recoverAddress(digest, Signature.from(sig.signature)), key.address);
});

test('EIP-191 and EIP-712 signatures verify with ethers', async () => {
  const text = 'DKLS23 withdrawal';
  const personal = await client.sign(key.key_id, { data: text, data_type: 'EIP191', encoding: 'utf8' });
  assert.equal(verifyMessage(text, personal.signature), key.address);
  const typed = await client.sign(key.key_id, { data: typedData, data_type: 'EIP712' });
  const { EIP712Domain: _domain, ...types } = typedData.types;
  assert.equal(verifyTypedData(typedData.domain, types, typedData.message, typed.signature), key.address);
});

test('with one of three holders killed, the other two sign', async () => {
  const victim = key.shard_nodes[0]!;
  await cluster.killNode(victim);
  try {
    const digest = `0x${'5a'.repeat(32)}`;
    const sig = await client.sign(key.key_id, { data: digest, data_type: 'HASH' });
    assert.ok(!sig.signer_nodes.includes(victim));
    assert.equal(recoverAddress(digest, Signature.from(sig.signature)), key.address);
  } finally {
    await cluster.startNode(victim);
  }
});
