/**
 * The gateway plays a malicious relay against real TSS node processes: it flips bits, replays
 * messages from another session, injects messages in another node's name, and drops messages.
 * Each must end the session with a clear error, and no node may write a share. A recording of
 * all relay traffic stays unreadable with every node's certificate key (forward secrecy), and a
 * recorded session-open replayed to a restarted node is refused.
 */
import { describe, test, beforeAll, afterAll, beforeEach } from 'vitest';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { builtinSchemes } from '../../common/protocols/registry.ts';
import * as grpc from '@grpc/grpc-js';
import { loadTlsMaterial } from '../../common/pki/dev-pki.ts';
import {
  TssNodeClient,
  type Envelope,
  type NodeFrame,
  type SessionFrame,
  type SessionStart,
} from '../../common/rpc/tss-service.ts';
import {
  createGrpcCoordinator,
  type Delivery,
  type RelayInterceptor,
} from '../../gateway/coordinator/grpc-coordinator.ts';
import { MpcSessionError, type MpcCoordinator } from '../../gateway/coordinator/types.ts';
import { eventually } from '../support/eventually.ts';
import { startLocalCluster, type LocalCluster } from '../support/local-cluster.ts';
import { oldEciesAttempts } from '../support/old-ecies.ts';

let cluster: LocalCluster;
let coordinator: MpcCoordinator;
let intercept: RelayInterceptor = (d) => d;
const holders = ['tss1', 'tss2', 'tss3'];
const newKeyId = () => `key_${randomBytes(16).toString('hex')}`;

beforeAll(async () => {
  cluster = await startLocalCluster({ gg18PoolSize: 0 });
  coordinator = relay({
    // Short enough that the dropped-message tests stay quick, long enough that an honest round
    // finishes on 2 busy cores (1.5 s timed out an honest keygen at load 35).
    roundTimeoutMs: 5000,
    keygenTimeoutMs: 20_000,
    relayInterceptor: (d, from) => intercept(d, from),
  });
});

function relay(o: { roundTimeoutMs: number; keygenTimeoutMs: number; relayInterceptor: RelayInterceptor }) {
  return createGrpcCoordinator({
    home: cluster.home,
    nodes: cluster.nodes.map((n) => ({ id: n.id, address: n.address })),
    logger: pino({ level: 'silent' }),
    schemes: builtinSchemes(),
    healthTtlMs: 0,
    ...o,
  });
}
afterAll(async () => {
  await coordinator?.close();
  await cluster?.stop();
});
beforeEach(() => {
  intercept = (d) => d;
});

async function totalShares(): Promise<number> {
  const health = await coordinator.health();
  assert.ok(
    health.every((h) => h.reachable && !h.sealed),
    'every node stays up',
  );
  return health.reduce((sum, h) => sum + h.shareCount, 0);
}

async function noSessionsLeft(): Promise<void> {
  await eventually(
    'every node has dropped its sessions',
    async () => (await coordinator.health()).every((h) => h.activeSessions === 0),
    10_000,
    50,
  );
}

/** Runs a keygen that must fail, and proves no node stored anything. */
async function expectKeygenFailure(algo: string, check: (e: MpcSessionError) => void): Promise<void> {
  const before = await totalShares();
  const keyId = newKeyId();
  await assert.rejects(coordinator.keygen({ keyId, algo, holders, threshold: 2 }), (e: unknown) => {
    assert.ok(e instanceof MpcSessionError, String(e));
    check(e);
    return true;
  });
  // Every node has dropped the failed session (nothing left that could still commit): count the stores.
  await noSessionsLeft();
  assert.equal(await totalShares(), before, 'no share was written');
}

test('health counts the sessions a node runs, and drops one the relay stalls once its round times out', async () => {
  // A second gateway that delivers nothing: each holder's session waits in round 1 for up to 10 s.
  const stalling = relay({ roundTimeoutMs: 10_000, keygenTimeoutMs: 30_000, relayInterceptor: () => [] });
  try {
    const keygen = stalling.keygen({ keyId: newKeyId(), algo: 'EDDSA', holders, threshold: 2 }).then(
      () => 'succeeded',
      (e: unknown) => e,
    );
    await eventually(
      'each holder reports one running session',
      async () =>
        (await coordinator.health()).filter((h) => holders.includes(h.nodeId)).every((h) => h.activeSessions === 1),
      10_000,
      50,
    );
    assert.ok((await keygen) instanceof MpcSessionError);
    await noSessionsLeft();
  } finally {
    await stalling.close();
  }
});

const flip = (b: Uint8Array, i: number) => {
  const c = Uint8Array.from(b);
  c[i % c.length]! ^= 0x01;
  return c;
};
const isP2p = (d: Delivery) => d.envelope.to !== '';

for (const algo of ['EDDSA', 'BLS']) {
  describe(`${algo} keygen through a malicious relay`, () => {
    test('an honest relay: keygen succeeds and every node stores one share', async () => {
      const before = await totalShares();
      const result = await coordinator.keygen({ keyId: newKeyId(), algo, holders, threshold: 2 });
      assert.ok(result.publicKey.length > 0);
      await noSessionsLeft();
      assert.equal(await totalShares(), before + 3);
    });

    test('a flipped bit in a point-to-point message', async () => {
      let done = false;
      intercept = (ds) =>
        ds.map((d) => {
          if (done || !isP2p(d)) return d;
          done = true;
          return { ...d, envelope: { ...d.envelope, body: flip(d.envelope.body, 5) } };
        });
      await expectKeygenFailure(algo, (e) => assert.match(e.message, /bad signature|failed decryption/));
      assert.ok(done);
    });

    test('a flipped bit in a broadcast message', async () => {
      let done = false;
      intercept = (ds) =>
        ds.map((d) => {
          if (done || isP2p(d)) return d;
          done = true;
          return { ...d, envelope: { ...d.envelope, body: flip(d.envelope.body, 9) } };
        });
      await expectKeygenFailure(algo, (e) => assert.match(e.message, /bad signature/));
    });

    test('a message replayed from another session', async () => {
      const captured: Envelope[] = [];
      intercept = (ds) => {
        ds.forEach((d) => captured.push(d.envelope));
        return ds;
      };
      await coordinator.keygen({ keyId: newKeyId(), algo, holders, threshold: 2 });
      const old = captured.find((e) => e.from === 'tss1' && e.to === 'tss2')!;
      assert.ok(old, 'captured a p2p envelope');
      intercept = (ds) =>
        ds.map((d) => (d.envelope.from === 'tss1' && d.to === 'tss2' && isP2p(d) ? { ...d, envelope: old } : d));
      await expectKeygenFailure(algo, (e) => assert.match(e.message, /another session/));
    });

    test(
      'with every certificate private key, a recording of a completed session decrypts nothing',
      { timeout: 30_000 },
      async () => {
        const recorded: Envelope[] = [];
        intercept = (ds) => {
          ds.forEach((d) => recorded.push(d.envelope));
          return ds;
        };
        await coordinator.keygen({ keyId: newKeyId(), algo, holders, threshold: 2 });
        const certKey = (id: string) => readFileSync(join(cluster.home, 'certs', id, `${id}.key`));
        const privateKeys = cluster.nodes.map((n) => createPrivateKey(certKey(n.id)));
        const publicKeys = privateKeys.map((k) => createPublicKey(k));
        const ephemerals = recorded.filter((e) => e.round === 0 && e.to === '').map((e) => e.ephemeral_public_key);
        assert.equal(new Set(ephemerals.map((e) => Buffer.from(e).toString('hex'))).size, holders.length);
        assert.ok(
          ephemerals.every((e) => e.length === 32),
          'each round-0 broadcast carries a session key',
        );
        const p2p = recorded.filter((e) => e.to !== '');
        assert.ok(p2p.length >= holders.length * (holders.length - 1), 'recorded the point-to-point shares');
        for (const env of p2p) assert.equal(oldEciesAttempts(env, privateKeys, publicKeys, ephemerals), 0);
      },
    );

    test('a relay that substitutes a session key is caught by the signature', { timeout: 30_000 }, async () => {
      const { generateKeyPairSync } = await import('node:crypto');
      const mine = generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' }).x!;
      let done = false;
      intercept = (ds) =>
        ds.map((d) => {
          if (done || isP2p(d) || d.envelope.round !== 0 || d.to !== 'tss2') return d;
          done = true;
          return { ...d, envelope: { ...d.envelope, ephemeral_public_key: Buffer.from(mine, 'base64url') } };
        });
      await expectKeygenFailure(algo, (e) => {
        assert.match(e.message, /bad signature/);
        assert.equal(e.kind, 'abort');
      });
      assert.ok(done);
    });

    test('a session key replayed from another session is refused', { timeout: 30_000 }, async () => {
      const captured: Envelope[] = [];
      intercept = (ds) => {
        ds.forEach((d) => captured.push(d.envelope));
        return ds;
      };
      await coordinator.keygen({ keyId: newKeyId(), algo, holders, threshold: 2 });
      const old = captured.find((e) => e.from === 'tss1' && e.round === 0 && e.to === '')!;
      assert.equal(old.ephemeral_public_key.length, 32);
      for (const replay of [
        (env: Envelope) => ({ ...old, session_id: env.session_id }), // the old broadcast, relabelled
        (env: Envelope) => ({ ...env, ephemeral_public_key: old.ephemeral_public_key }), // the old key, spliced in
      ]) {
        intercept = (ds) =>
          ds.map((d) =>
            d.envelope.from === 'tss1' && d.to === 'tss2' && !isP2p(d) && d.envelope.round === 0
              ? { ...d, envelope: replay(d.envelope) }
              : d,
          );
        await expectKeygenFailure(algo, (e) => assert.match(e.message, /bad signature/));
      }
    });

    test('a message replayed from an earlier round of the same session', async () => {
      const seen: Delivery[] = [];
      intercept = (ds) => {
        const out = [...ds];
        for (const d of ds) {
          const earlier = seen.find(
            (s) => s.to === d.to && s.envelope.from === d.envelope.from && s.envelope.round < d.envelope.round,
          );
          if (earlier) out.push(earlier);
        }
        seen.push(...ds);
        return out;
      };
      await expectKeygenFailure(algo, (e) => assert.match(e.message, /round/));
    });

    test('a message injected in another node’s name', async () => {
      intercept = (ds, from) => {
        if (from !== 'tss3') return ds;
        // tss3's message to tss2 is relabelled as coming from tss1.
        return ds.map((d) => (d.to === 'tss2' ? { ...d, envelope: { ...d.envelope, from: 'tss1' } } : d));
      };
      await expectKeygenFailure(algo, (e) => assert.match(e.message, /bad signature|duplicate/));
    });

    test('a dropped message times out', async () => {
      let dropped = false;
      intercept = (ds) =>
        ds.filter((d) => {
          if (dropped || d.to !== 'tss2' || d.envelope.from !== 'tss1') return true;
          dropped = true;
          return false;
        });
      await expectKeygenFailure(algo, (e) => {
        assert.equal(e.kind, 'timeout');
        assert.match(e.message, /timed out waiting for round \d+ messages from tss1/);
      });
    });
  });
}

test('a node refuses a session from a client that is not the gateway', async () => {
  // A coordinator holding a node's certificate instead of the gateway's.
  const { mkdtempSync, mkdirSync, copyFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const fake = mkdtempSync(join(tmpdir(), 'custos-fake-gw-'));
  mkdirSync(join(fake, 'certs', 'gateway'), { recursive: true });
  copyFileSync(join(cluster.home, 'certs', 'ca.cert'), join(fake, 'certs', 'ca.cert'));
  copyFileSync(join(cluster.home, 'certs', 'tss4', 'tss4.cert'), join(fake, 'certs', 'gateway', 'gateway.cert'));
  copyFileSync(join(cluster.home, 'certs', 'tss4', 'tss4.key'), join(fake, 'certs', 'gateway', 'gateway.key'));
  const impostor = createGrpcCoordinator({
    home: fake,
    nodes: cluster.nodes.map((n) => ({ id: n.id, address: n.address })),
    logger: pino({ level: 'silent' }),
    schemes: builtinSchemes(),
  });
  try {
    await assert.rejects(impostor.keygen({ keyId: newKeyId(), algo: 'EDDSA', holders, threshold: 2 }), (e: unknown) => {
      assert.ok(e instanceof MpcSessionError);
      assert.match(e.message, /only this cluster's gateway may open sessions/);
      return true;
    });
  } finally {
    await impostor.close();
  }
});

describe('a certificate of another cluster under the same CA', () => {
  const otherCluster = { namespace: 'local', cluster: 'other' };

  async function foreignHome(id: string): Promise<string> {
    const { mkdtempSync, mkdirSync, copyFileSync, readFileSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { issueLeaf } = await import('../../common/pki/dev-pki.ts');
    const home = mkdtempSync(join(tmpdir(), 'custos-foreign-'));
    mkdirSync(join(home, 'certs', id), { recursive: true });
    copyFileSync(join(cluster.home, 'certs', 'ca.cert'), join(home, 'certs', 'ca.cert'));
    const leaf = await issueLeaf(
      readFileSync(join(cluster.home, 'certs', 'ca.cert'), 'utf8'),
      readFileSync(join(cluster.home, 'certs', 'ca.key'), 'utf8'),
      id,
      otherCluster,
    );
    writeFileSync(join(home, 'certs', id, `${id}.cert`), leaf.certPem);
    writeFileSync(join(home, 'certs', id, `${id}.key`), leaf.keyPem, { mode: 0o600 });
    return home;
  }

  test("a node refuses a session from another cluster's gateway", async () => {
    const { loadTlsMaterial } = await import('../../common/pki/dev-pki.ts');
    const { TssNodeClient } = await import('../../common/rpc/tss-service.ts');
    const tls = loadTlsMaterial(await foreignHome('gateway'), 'gateway');
    // The attacker's client skips its own peer check; only the node's check stands in the way.
    const credentials = grpc.credentials.createSsl(tls.ca, tls.key, tls.cert, { checkServerIdentity: () => undefined });
    const client = new TssNodeClient(cluster.nodes[0]!.address, credentials, {
      'grpc.ssl_target_name_override': 'tss1',
    }) as unknown as grpc.Client & { Session(): grpc.ClientDuplexStream<unknown, unknown> };
    try {
      const call = client.Session();
      const error = await new Promise<grpc.ServiceError>((resolve) => {
        call.on('error', resolve);
        call.on('data', () => undefined);
      });
      assert.equal(error.code, grpc.status.PERMISSION_DENIED);
      assert.match(error.details, /only this cluster's gateway/);
    } finally {
      client.close();
    }
  });

  test('a gateway of another cluster does not accept our nodes', async () => {
    const impostor = createGrpcCoordinator({
      home: await foreignHome('gateway'),
      nodes: cluster.nodes.map((n) => ({ id: n.id, address: n.address })),
      logger: pino({ level: 'silent' }),
      schemes: builtinSchemes(),
      healthTtlMs: 0,
    });
    try {
      const health = await impostor.health();
      assert.equal(health.length, 4);
      assert.ok(
        health.every((h) => !h.reachable),
        'every node of local/dev is refused by a gateway of local/other',
      );
      // Our own coordinator (same CA, our cluster) still reaches every node.
      assert.ok((await coordinator.health()).every((h) => h.reachable));
    } finally {
      await impostor.close();
    }
  });
});
/**
 * Opens a session stream to `nodeId` with the gateway's certificate and returns the node's first
 * frame after the certificate it announces (which must be its own, from its files).
 */
async function firstFrame(nodeId: string, start: SessionStart): Promise<NodeFrame> {
  const tls = loadTlsMaterial(cluster.home, 'gateway');
  const address = cluster.nodes.find((n) => n.id === nodeId)!.address;
  const client = new TssNodeClient(address, grpc.credentials.createSsl(tls.ca, tls.key, tls.cert), {
    'grpc.ssl_target_name_override': nodeId,
    'grpc.default_authority': nodeId,
  }) as unknown as { Session(): grpc.ClientDuplexStream<SessionFrame, NodeFrame>; close(): void };
  const stream = client.Session();
  try {
    const own = readFileSync(join(cluster.home, 'certs', nodeId, `${nodeId}.cert`), 'utf8');
    let announced = false;
    return await new Promise<NodeFrame>((resolve, reject) => {
      stream.on('data', (frame: NodeFrame) => {
        if (announced) return resolve(frame);
        announced = true;
        if (frame.frame !== 'certificate') return reject(new Error(`first frame was ${frame.frame}, not certificate`));
        const der = Buffer.from(frame.certificate.certificate);
        if (!der.equals(new X509Certificate(own).raw))
          return reject(new Error(`${nodeId} announced another certificate`));
      });
      stream.on('error', reject);
      stream.write({ frame: 'start', start });
    });
  } finally {
    stream.cancel();
    client.close();
  }
}

test(
  'a node refuses a start that hands it a peer certificate not issued by the cluster CA',
  { timeout: 60_000 },
  async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { ensureDevPki } = await import('../../common/pki/dev-pki.ts');
    // The attacker's own CA issues a certificate naming tss1, in our cluster's scope.
    const attacker = mkdtempSync(join(tmpdir(), 'custos-attacker-ca-'));
    await ensureDevPki(attacker, ['tss1']);
    const forged = new X509Certificate(readFileSync(join(attacker, 'certs', 'tss1', 'tss1.cert'))).raw;
    const honest = new X509Certificate(readFileSync(join(cluster.home, 'certs', 'tss3', 'tss3.cert'))).raw;
    const frame = await firstFrame('tss2', {
      session_id: `forged-cert-${randomBytes(8).toString('hex')}`,
      kind: 'KEYGEN',
      algo: 'EDDSA',
      key_id: newKeyId(),
      parties: holders,
      holders,
      threshold: 2,
      message: Buffer.alloc(0),
      sign_policy: Buffer.alloc(0),
      authorization: Buffer.alloc(0),
      round_timeout_ms: 1000,
      peer_certificates: { tss1: forged, tss3: honest },
      deadline_ms: Date.now() + 60_000,
    });
    assert.equal(frame.frame, 'error');
    assert.equal(frame.frame === 'error' && frame.error.code, 'AUTH_FAILED');
    assert.match(frame.frame === 'error' ? frame.error.message : '', /certificate of tss1 rejected/);
  },
);

test(
  'a session-open replayed with a used session id after the node restarts is refused',
  { timeout: 120_000 },
  async () => {
    const certificate = (id: string) => readFileSync(join(cluster.home, 'certs', id, `${id}.cert`));
    const start = (sessionId: string, deadlineMs: number): SessionStart => ({
      session_id: sessionId,
      kind: 'KEYGEN',
      algo: 'EDDSA',
      key_id: newKeyId(),
      parties: holders,
      holders,
      threshold: 2,
      message: Buffer.alloc(0),
      sign_policy: Buffer.alloc(0),
      authorization: Buffer.alloc(0),
      round_timeout_ms: 1000,
      peer_certificates: { tss1: certificate('tss1'), tss3: certificate('tss3') },
      deadline_ms: deadlineMs,
    });
    const recorded = start(`replayed-${randomBytes(8).toString('hex')}`, Date.now() + 60_000);
    const first = await firstFrame('tss2', recorded);
    assert.equal(first.frame, 'envelope', 'the first open is accepted');

    await cluster.killNode('tss2');
    await cluster.startNode('tss2');

    const replayed = await firstFrame('tss2', recorded);
    assert.equal(replayed.frame, 'error');
    assert.equal(replayed.frame === 'error' && replayed.error.code, 'REPLAY');
    assert.match(replayed.frame === 'error' ? replayed.error.message : '', /already used/);
    // Relabelled as a new key: the session id alone decides.
    const relabelled = await firstFrame('tss2', { ...recorded, key_id: newKeyId() });
    assert.equal(relabelled.frame === 'error' && relabelled.error.code, 'REPLAY');
    // A start past its deadline (an old recording whose id was since forgotten) is refused too.
    const stale = await firstFrame('tss2', start(`stale-${randomBytes(8).toString('hex')}`, Date.now() - 10 * 60_000));
    assert.equal(stale.frame === 'error' && stale.error.code, 'BAD_START');
    assert.match(stale.frame === 'error' ? stale.error.message : '', /past its deadline/);
    // The restarted node still takes part in fresh sessions.
    await coordinator.keygen({ keyId: newKeyId(), algo: 'EDDSA', holders, threshold: 2 });
  },
);
