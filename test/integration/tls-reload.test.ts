/**
 * Certificate renewal without a restart: the certificate files of a running node and of the
 * running gateway are replaced (as cert-manager and the kubelet do), new TLS handshakes present the
 * new certificates (gRPC between gateway and nodes, and the gateway's HTTPS API), and signing keeps
 * working across the change.
 */
import { test, beforeAll, afterAll } from 'vitest';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { ed25519 } from '@noble/curves/ed25519.js';
import { ensureDevPki, issueLeaf, loadTlsMaterial, pkiLayout } from '../../common/pki/dev-pki.ts';
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
