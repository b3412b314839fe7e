/**
 * Nodes refuse a key after repeated sign aborts that name nobody, until an operator clears the
 * count — against real TSS node processes, with a test adversary holding the gateway's
 * certificate that drops every protocol message (so no culprit can be proven).
 */
import { test, beforeAll, afterAll } from 'vitest';
import assert from 'node:assert/strict';
import { ed25519 } from '@noble/curves/ed25519.js';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { builtinSchemes } from '../../common/protocols/registry.ts';
import { createGrpcCoordinator } from '../../gateway/coordinator/grpc-coordinator.ts';
import { MpcSessionError, type MpcCoordinator } from '../../gateway/coordinator/types.ts';
import { startLocalCluster, type LocalCluster } from '../support/local-cluster.ts';

let cluster: LocalCluster;
let adversary: MpcCoordinator;
let dropAll = false;
const holders = ['tss1', 'tss2', 'tss3'];

beforeAll(async () => {
  cluster = await startLocalCluster({ gg18PoolSize: 0, nodeEnv: { CUSTOS_UNATTRIBUTED_ABORT_LIMIT: '2' } });
  adversary = createGrpcCoordinator({
    home: cluster.home,
    nodes: cluster.nodes.map((n) => ({ id: n.id, address: n.address })),
    logger: pino({ level: 'silent' }),
    schemes: builtinSchemes(),
    roundTimeoutMs: 3000,
    signTimeoutMs: 10_000,
    healthTtlMs: 0,
    relayInterceptor: (deliveries) => (dropAll ? [] : deliveries),
  });
});
afterAll(async () => {
  await adversary?.close();
  await cluster?.stop();
});

test(
  'repeated unattributed aborts trip the node-side limit; it survives a restart; clearing re-opens the key',
  { timeout: 120_000 },
  async () => {
    const keyId = `key_${randomBytes(16).toString('hex')}`;
    const key = await adversary.keygen({ keyId, algo: 'EDDSA', holders, threshold: 2 });
    const message = new TextEncoder().encode('hello');
    const sign = () =>
      adversary.sign({
        keyId,
        algo: 'EDDSA',
        holders,
        signers: ['tss1', 'tss2'],
        threshold: 2,
        publicKey: key.publicKey,
        publicInfo: key.publicInfo,
        message,
      });

    dropAll = true;
    for (let i = 0; i < 2; i++) {
      await assert.rejects(sign(), (e: unknown) => e instanceof MpcSessionError && e.kind === 'timeout');
    }
    dropAll = false;
    const locked = (e: unknown) => {
      assert.ok(e instanceof MpcSessionError, String(e));
      assert.equal(e.kind, 'locked', e.message);
      assert.match(e.message, /\d+ sign sessions for key_[0-9a-f]+ aborted without a proven culprit/);
      return true;
    };
    await pollRejects(sign, locked);

    // The count is in the node's encrypted store, not its memory.
    await cluster.killNode('tss1');
    await cluster.startNode('tss1');
    await pollRejects(sign, locked);

    // Another signer set still meets a locked node.
    const other = await adversary
      .sign({
        keyId,
        algo: 'EDDSA',
        holders,
        signers: ['tss2', 'tss3'],
        threshold: 2,
        publicKey: key.publicKey,
        publicInfo: key.publicInfo,
        message,
      })
      .catch((e: unknown) => e);
    assert.ok(other instanceof MpcSessionError && other.kind === 'locked', 'tss2 refuses as well');

    // A session another holder refused counts too (the others had started it): at least the two dropped ones.
    const cleared = await adversary.clearAbortCount(holders, keyId);
    assert.ok(cleared.tss1! >= 2 && cleared.tss2! >= 2, JSON.stringify(cleared));
    assert.ok(ed25519.verify(await sign(), message, key.publicKey));
  },
);

/** Retries while the cluster is still settling (a node reconnecting); the last error must match. */
async function pollRejects(run: () => Promise<unknown>, check: (e: unknown) => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const err = await run().then(
      () => new Error('the session succeeded'),
      (e: unknown) => e,
    );
    if (err instanceof MpcSessionError && err.kind === 'unavailable' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    check(err);
    return;
  }
}
