/**
 * Proactive refresh through real processes (docs/key-lifecycle.md): a holder is SIGKILLed while
 * the refresh is between prepare (staging) and commit (activation). Whatever the kill interrupted,
 * the key must sign with one consistent share set: the old one if the refresh failed, the new one
 * if it was decided, and every holder ends on the same version once it is back.
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
/** Called with every process log line; a test installs its trigger here. */
let onLine: (source: string, line: string) => void = () => {};

beforeAll(async () => {
  cluster = await startLocalCluster({ gg18PoolSize: 0, onLog: (source, line) => onLine(source, line) });
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

describe('refresh with a holder killed between prepare and commit', () => {
  test('the key keeps signing with one consistent share set, and every holder converges', async () => {
    const key = await client.generateKey({ format: { curve: 'ED25519', algo_type: 'EDDSA' }, label: 'refresh-fault' });
    await signsAndVerifies(key.key_id, key.public_key, 'before refresh');

    // The first holder to stage its new share triggers a SIGKILL of another holder, which may or
    // may not have staged its own yet: the two outcomes the commit protocol must both survive.
    let victim: string | undefined;
    let killed: Promise<void> | undefined;
    onLine = (source, line) => {
      if (victim || !line.includes('refreshed share staged') || !key.shard_nodes.includes(source)) return;
      victim = key.shard_nodes.find((h) => h !== source)!;
      killed = cluster.killNode(victim);
    };
    const opId = (await client.refreshKey(key.key_id)).operation_id;
    const settled = await eventually(
      'the refresh to fail or be decided',
      async () => {
        const op = await operation(opId);
        return op.status === 'FAILED' || op.status === 'SUCCEEDED' || (op.reason ?? '').includes('waiting to erase')
          ? op
          : undefined;
      },
      120_000,
    );
    onLine = () => {};
    assert.ok(victim, `no holder staged a share: ${JSON.stringify(settled)}`);
    await killed;

    // With the victim down, the two other holders sign: old set or new set, never a mix.
    const signers = await signsAndVerifies(key.key_id, key.public_key, `victim ${victim} down (${settled.status})`);
    assert.ok(!signers.includes(victim));

    // The victim returns; the gateway restarts (recovery runs at start) and finishes or discards.
    await cluster.startNode(victim);
    await cluster.restartGateway();
    const final = await eventually(
      'the refresh to end',
      async () => {
        const op = await operation(opId);
        return op.status === 'FAILED' || op.status === 'SUCCEEDED' ? op : undefined;
      },
      120_000,
    );
    assert.equal(final.status, settled.status === 'FAILED' ? 'FAILED' : 'SUCCEEDED', JSON.stringify(final));

    // The victim must now sign with the others' version: take another holder down so it has to.
    const other = key.shard_nodes.find((h) => h !== victim)!;
    await cluster.killNode(other);
    const withVictim = await signsAndVerifies(key.key_id, key.public_key, 'victim back, another holder down');
    assert.ok(withVictim.includes(victim));
    await cluster.startNode(other);

    // A clean refresh afterwards succeeds, keeps the public key, and the new shares sign.
    const again = await client.refreshKey(key.key_id);
    const done = await eventually(
      'the second refresh',
      async () => {
        const op = await operation(again.operation_id);
        return op.status === 'SUCCEEDED' || op.status === 'FAILED' ? op : undefined;
      },
      120_000,
    );
    assert.equal(done.status, 'SUCCEEDED', JSON.stringify(done));
    assert.equal(done.to_version, final.status === 'SUCCEEDED' ? 3 : 2);
    assert.equal((await client.getKey(key.key_id)).public_key, key.public_key);
    await signsAndVerifies(key.key_id, key.public_key, 'after a clean refresh');
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
