/**
 * Certificate renewal without a restart: the certificate files of a running node and of the
 * running gateway are replaced (as cert-manager and the kubelet do), new TLS handshakes present the
 * new certificates (gRPC between gateway and nodes, and the gateway's HTTPS API), and signing keeps
 * working across the change, also when a node's key is rotated after the gateway last probed its
 * health (peers then verify with the certificate the node announced on the session's stream).
 */
import { test, beforeAll, afterAll } from 'vitest';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { ed25519 } from '@noble/curves/ed25519.js';
import { ensureDevPki, issueLeaf, loadTlsMaterial, pkiLayout } from '../../common/pki/dev-pki.ts';
import { builtinSchemes } from '../../common/protocols/registry.ts';
import { createGrpcCoordinator } from '../../gateway/coordinator/grpc-coordinator.ts';
import { CustosClient } from '../../sdk/index.ts';
import { startLocalCluster, type LocalCluster } from '../support/local-cluster.ts';

const RELOAD = { CUSTOS_TLS_RELOAD_SECONDS: '0.2' };
let cluster: LocalCluster;
let client: CustosClient;
let home: string;
/** A TLS endpoint the gateway dials as "tss4": records the client certificate of every handshake. */
let recorder: tls.Server;
const clientSerials: string[] = [];

async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Replaces an entity's key and certificate with a fresh pair from the CA, each file atomically. */
async function renew(id: string): Promise<string> {
  const p = pkiLayout(home, id);
  const leaf = await issueLeaf(readFileSync(p.caCert, 'utf8'), readFileSync(p.caKey, 'utf8'), id);
  // Key first, certificate second: in between the pair does not match and must not be taken.
  writeFileSync(`${p.key}.new`, leaf.keyPem, { mode: 0o600 });
  renameSync(`${p.key}.new`, p.key);
  await new Promise((r) => setTimeout(r, 500));
  writeFileSync(`${p.cert}.new`, leaf.certPem);
  renameSync(`${p.cert}.new`, p.cert);
  return new X509Certificate(leaf.certPem).serialNumber;
}

/** The serial of the certificate a node presents to a new handshake. */
async function servedSerial(address: string, id: string): Promise<string> {
  const [host, port] = address.split(':') as [string, string];
  const socket = tls.connect({ ...loadTlsMaterial(home, 'gateway'), host, port: Number(port), servername: id });
  try {
    await once(socket, 'secureConnect');
    return socket.getPeerX509Certificate()!.serialNumber;
  } finally {
    socket.destroy();
  }
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'custos-tls-reload-'));
  await ensureDevPki(home, ['tss1', 'tss2', 'tss3', 'tss4']);
  recorder = tls.createServer({ ...loadTlsMaterial(home, 'tss4'), requestCert: true, rejectUnauthorized: true });
  recorder.on('secureConnection', (socket) => {
    clientSerials.push(socket.getPeerX509Certificate()!.serialNumber);
    socket.destroy();
  });
  recorder.listen(0, '127.0.0.1');
  await once(recorder, 'listening');
  const { port } = recorder.address() as { port: number };
  cluster = await startLocalCluster({
    home,
    nodeCount: 3,
    gg18PoolSize: 0,
    nodeEnv: RELOAD,
    gatewayEnv: RELOAD,
    extraNodes: [`tss4=127.0.0.1:${port}`],
    gatewayTls: true,
  });
  client = new CustosClient({
    baseUrl: cluster.baseUrl,
    accessKey: cluster.accessKey,
    secretKey: cluster.secretKey,
    fetch: cluster.fetch,
  });
});
afterAll(async () => {
  await cluster?.stop();
  recorder?.close();
});

test(
  'a renewed node and gateway certificate is used by new handshakes; signing continues',
  { timeout: 120_000 },
  async () => {
    const key = await client.generateKey({ format: { curve: 'ED25519', algo_type: 'EDDSA' }, label: 'tls-reload' });
    const sign = async (text: string) => {
      const message = new TextEncoder().encode(text);
      const sig = await client.sign(key.key_id, {
        data: `0x${Buffer.from(message).toString('hex')}`,
        data_type: 'RAW',
      });
      assert.ok(
        ed25519.verify(
          Buffer.from(sig.signature.slice(2), 'hex'),
          message,
          Buffer.from(key.public_key.slice(2), 'hex'),
        ),
      );
    };
    await sign('before renewal');

    const tss1 = cluster.nodes.find((n) => n.id === 'tss1')!;
    const oldNodeSerial = await servedSerial(tss1.address, 'tss1');
    const newNodeSerial = await renew('tss1');
    assert.notEqual(newNodeSerial, oldNodeSerial);
    await eventually('tss1 to serve its renewed certificate', async () =>
      (await servedSerial(tss1.address, 'tss1')) === newNodeSerial ? true : undefined,
    );
    assert.ok(
      cluster.nodes.every((n) => n.running),
      'no node restarted',
    );

    const oldGatewaySerial = await eventually('a handshake from the gateway', async () => clientSerials.at(-1));
    const newGatewaySerial = await renew('gateway');
    await eventually('the gateway to present its renewed certificate', async () =>
      clientSerials.at(-1) === newGatewaySerial ? true : undefined,
    );
    assert.notEqual(oldGatewaySerial, newGatewaySerial);

    // The renewed node key also protects the MPC messages (peers learn it through Health).
    for (let i = 0; i < 5; i++) await sign(`after renewal ${i}`);
    assert.ok(cluster.nodes.every((n) => n.running));
  },
);

test(
  "a node's key rotated after the gateway's last health probe: the next sessions sign with the new key",
  { timeout: 180_000 },
  async () => {
    // Nothing probes the nodes' health after the rotation: only the session itself can tell the
    // peers which certificate tss2 signs with now (a view cached from Health would be stale).
    const coordinator = createGrpcCoordinator({
      home,
      nodes: cluster.nodes.map((n) => ({ id: n.id, address: n.address })),
      logger: pino({ level: 'silent' }),
      schemes: builtinSchemes(),
      healthTtlMs: 0,
      keygenTimeoutMs: 60_000,
    });
    try {
      const holders = ['tss1', 'tss2', 'tss3'];
      // The first probes run while the new channels still connect.
      await eventually('every holder reachable', async () =>
        (await coordinator.health()).filter((h) => holders.includes(h.nodeId)).every((h) => h.reachable)
          ? true
          : undefined,
      );
      const keyId = `key_${randomBytes(16).toString('hex')}`;
      const key = await coordinator.keygen({ keyId, algo: 'EDDSA', holders, threshold: 2 });
      const sign = async (text: string, signers: string[]) => {
        const message = new TextEncoder().encode(text);
        const signature = await coordinator.sign({
          keyId,
          algo: 'EDDSA',
          holders,
          signers,
          threshold: 2,
          publicKey: key.publicKey,
          publicInfo: key.publicInfo,
          message,
        });
        assert.ok(ed25519.verify(signature, message, key.publicKey), `signature on "${text}" verifies`);
      };
      await sign('before the rotation', ['tss2', 'tss3']);

      const tss2 = cluster.nodes.find((n) => n.id === 'tss2')!;
      const renewed = await renew('tss2');
      await eventually('tss2 to serve its renewed certificate', async () =>
        (await servedSerial(tss2.address, 'tss2')) === renewed ? true : undefined,
      );
      // Health was last probed before the rotation.
      for (let i = 0; i < 3; i++) await sign(`after the rotation ${i}`, i % 2 ? ['tss1', 'tss2'] : ['tss2', 'tss3']);
      assert.ok(cluster.nodes.every((n) => n.running));
    } finally {
      await coordinator.close();
    }
  },
);
