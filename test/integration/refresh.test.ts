/**
 * Proactive refresh through real processes (docs/key-lifecycle.md): a holder SIGKILLed before the
 * refresh makes it fail with the old shares still in use; a clean refresh keeps the public key and
 * the returned holder signs with the new shares.
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import type { Operation } from '../../common/api/schemas.ts';
import { CustosApiError, CustosClient } from '../../sdk/index.ts';
import { eventually } from '../support/eventually.ts';
import { startLocalCluster, type LocalCluster } from '../support/local-cluster.ts';

const unhex = (s: string) => hexToBytes(s.replace(/^0x/, ''));
const te = new TextEncoder();

let cluster: LocalCluster;
let client: CustosClient;

beforeAll(async () => {
  cluster = await startLocalCluster({ gg18PoolSize: 0 });
  client = new CustosClient({ baseUrl: cluster.baseUrl, accessKey: cluster.accessKey, secretKey: cluster.secretKey });
}, 240_000);
afterAll(async () => {
  await cluster?.stop();
});

async function operation(id: string): Promise<Operation> {
  return client.getOperation(id);
}

async function signsAndVerifies(keyId: string, publicKey: string, label: string): Promise<string[]> {
  const message = te.encode(label);
  const sig = await eventually(`a signature (${label})`, async () =>
    client.sign(keyId, { data: `0x${bytesToHex(message)}`, data_type: 'RAW' }),
  );
  assert.ok(ed25519.verify(unhex(sig.signature), message, unhex(publicKey)), label);
  return sig.signer_nodes;
}

describe('refresh through real processes', () => {
  test('a holder killed before the refresh: FAILED with the reason, the old set signs; then a clean refresh keeps the key', async () => {
    const key = await client.generateKey({ format: { curve: 'ED25519', algo_type: 'EDDSA' }, label: 'refresh-fault' });
    await signsAndVerifies(key.key_id, key.public_key, 'before refresh');
    const victim = key.shard_nodes[0]!;
    await cluster.killNode(victim);
    const failedOp = await client.refreshKey(key.key_id);
    const failed = await eventually(
      'the refresh to end',
      async () => {
        const op = await operation(failedOp.operation_id);
        return op.status === 'FAILED' || op.status === 'SUCCEEDED' ? op : undefined;
      },
      120_000,
    );
    assert.equal(failed.status, 'FAILED', JSON.stringify(failed));
    // The two other holders still sign with the old shares.
    const signers = await signsAndVerifies(key.key_id, key.public_key, 'victim down, refresh failed');
    assert.ok(!signers.includes(victim));
    await cluster.startNode(victim);
    // A refresh needs every holder: wait until the gateway reaches the restarted one again.
    await eventually(`the gateway reaching ${victim} again`, async () => {
      const ready = await client.ready();
      return ready.nodes.some((n) => n.node_id === victim && n.reachable && !n.sealed) ? true : undefined;
    });

    const op = await client.refreshKey(key.key_id);
    const done = await eventually(
      'the second refresh',
      async () => {
        const o = await operation(op.operation_id);
        return o.status === 'SUCCEEDED' || o.status === 'FAILED' ? o : undefined;
      },
      120_000,
    );
    assert.equal(done.status, 'SUCCEEDED', JSON.stringify(done));
    assert.equal(done.to_version, 2);
    assert.equal((await client.getKey(key.key_id)).public_key, key.public_key);
    // The returned holder must sign with the new shares: take another holder down so it has to.
    const other = key.shard_nodes[1]!;
    await cluster.killNode(other);
    const withVictim = await signsAndVerifies(key.key_id, key.public_key, 'after refresh, with the returned holder');
    assert.ok(withVictim.includes(victim));
    await cluster.startNode(other);
  }, 600_000);

  test('refreshing a frozen key is refused with KEY_FROZEN', async () => {
    const key = await client.generateKey({ format: { curve: 'ED25519', algo_type: 'EDDSA' } });
    await client.updateStatus(key.key_id, { status: 'FROZEN' });
    await assert.rejects(client.refreshKey(key.key_id), (e: unknown) => {
      assert.ok(e instanceof CustosApiError, String(e));
      assert.equal(e.code, 'KEY_FROZEN');
      return true;
    });
  }, 120_000);
});
