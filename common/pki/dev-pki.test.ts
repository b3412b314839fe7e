import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, randomBytes, webcrypto } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, beforeAll, afterAll } from 'vitest';
import * as tls from 'node:tls';
import { DevPkiError, custosHome, ensureDevPki, loadTlsMaterial, pkiLayout, type PkiLayout } from './dev-pki.ts';
import {
  CertificateIdentityError,
  DEV_SCOPE,
  identityOfCertificate,
  parseSpiffeId,
  peerMismatch,
  spiffeIdOf,
  verifyIssuedBy,
} from './identity.ts';
import { SubjectAlternativeNameExtension, X509CertificateGenerator } from './x509.ts';

const NODES = ['tss1', 'tss2', 'tss3', 'tss4'];
const roots: string[] = [];
function tempHome(): string {
  const dir = mkdtempSync(join(tmpdir(), 'custos-pki-'));
  roots.push(dir);
  return dir;
}
afterAll(() => roots.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('dev PKI', () => {
  let home: string;
  let layout: PkiLayout;
  beforeAll(async () => {
    home = tempHome();
    layout = await ensureDevPki(home, NODES);
  });

  test('writes the documented layout with private keys readable by the owner only', () => {
    assert.equal(layout.caCert, join(home, 'certs/ca.cert'));
    assert.equal(layout.caKey, join(home, 'certs/ca.key'));
    assert.equal(layout.entities.gateway?.cert, join(home, 'certs/gateway/gateway.cert'));
    assert.equal(layout.entities.tss3?.key, join(home, 'certs/tss3/tss3.key'));
    assert.equal(layout.created.length, 2 + 2 * (NODES.length + 1));
    for (const id of ['gateway', ...NODES]) {
      const paths = pkiLayout(home, id);
      assert.equal(statSync(paths.key).mode & 0o777, 0o600, `${id} key mode`);
      assert.match(readFileSync(paths.key, 'utf8'), /^-----BEGIN PRIVATE KEY-----\n/);
    }
    assert.equal(statSync(layout.caKey).mode & 0o777, 0o600);
  });

  test('every leaf chains to the CA under node:crypto and names its identity', () => {
    const ca = new X509Certificate(readFileSync(layout.caCert));
    assert.equal(ca.ca, true);
    assert.ok(ca.verify(ca.publicKey), 'CA is self-signed');
    assert.ok(Date.parse(ca.validTo) - Date.now() > 9.9 * 365 * 86_400_000);
    for (const id of ['gateway', ...NODES]) {
      const pem = readFileSync(pkiLayout(home, id).cert);
      const cert = new X509Certificate(pem);
      assert.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey), `${id} verifies`);
      assert.equal(cert.ca, false);
      assert.match(cert.subject, new RegExp(`^CN=${id}$`, 'm'));
      assert.deepEqual(cert.keyUsage?.sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
      const base = 'spiffe://custos.dev/ns/local/cluster/dev';
      const spiffe = id === 'gateway' ? `${base}/gateway` : `${base}/node/${id}`;
      assert.equal(cert.subjectAltName, `DNS:${id}, DNS:localhost, IP Address:127.0.0.1, URI:${spiffe}`);
      assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
      const lifetime = Date.parse(cert.validTo) - Date.now();
      assert.ok(lifetime > 360 * 86_400_000 && lifetime < 367 * 86_400_000, 'one year');
      assert.deepEqual(identityOfCertificate(pem.toString()), {
        ...DEV_SCOPE,
        kind: id === 'gateway' ? 'gateway' : 'node',
        id,
      });
      assert.deepEqual(identityOfCertificate(cert.raw), identityOfCertificate(pem.toString()));
      assert.ok(verifyIssuedBy(pem, readFileSync(layout.caCert)));
    }
  });

  test('openssl verifies the chain for TLS server and client use', (t) => {
    if (!hasOpenssl()) return t.skip('openssl not on PATH');
    for (const purpose of ['sslserver', 'sslclient']) {
      const certs = ['gateway', ...NODES].map((id) => pkiLayout(home, id).cert);
      const out = execFileSync('openssl', ['verify', '-purpose', purpose, '-CAfile', layout.caCert, ...certs], {
        encoding: 'utf8',
      });
      assert.equal(
        out
          .trim()
          .split('\n')
          .filter((line) => line.endsWith(': OK')).length,
        certs.length,
      );
    }
  });

  test('a mutual TLS handshake succeeds between the gateway and a node', async () => {
    const nodeTls = loadTlsMaterial(home, 'tss2');
    const gatewayTls = loadTlsMaterial(home, 'gateway');
    const server = tls.createServer({ ...nodeTls, requestCert: true, rejectUnauthorized: true }, (socket) => {
      socket.end(JSON.stringify(identityOfCertificate(socket.getPeerX509Certificate()?.raw ?? new Uint8Array())));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    try {
      const socket = tls.connect({ ...gatewayTls, host: '127.0.0.1', port, servername: 'tss2' });
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      await once(socket, 'end');
      assert.equal(socket.authorized, true);
      assert.deepEqual(identityOfCertificate(socket.getPeerX509Certificate()!.raw), {
        ...DEV_SCOPE,
        kind: 'node',
        id: 'tss2',
      });
      assert.deepEqual(JSON.parse(Buffer.concat(chunks).toString()), { ...DEV_SCOPE, kind: 'gateway', id: 'gateway' });
    } finally {
      server.close();
    }
  });

  test('a certificate from a foreign CA is not accepted as issued by ours', async () => {
    const other = await ensureDevPki(tempHome(), ['tss1']);
    const foreign = readFileSync(other.entities.tss1!.cert);
    assert.equal(verifyIssuedBy(foreign, readFileSync(layout.caCert)), false);
    assert.equal(verifyIssuedBy(readFileSync(layout.entities.tss1!.cert), readFileSync(other.caCert)), false);
    assert.equal(verifyIssuedBy('not a certificate', readFileSync(layout.caCert)), false);
    // A leaf is not a CA even if it "signed" itself.
    assert.equal(verifyIssuedBy(foreign, foreign), false);
  });

  test('idempotent: a second run creates nothing and leaves every byte unchanged', async () => {
    const files = [layout.caCert, layout.caKey, ...Object.values(layout.entities).flatMap((p) => [p.cert, p.key])];
    const before = files.map((f) => [readFileSync(f), statSync(f).mtimeMs] as const);
    const again = await ensureDevPki(home, NODES);
    assert.deepEqual(again.created, []);
    files.forEach((f, i) => {
      assert.deepEqual(readFileSync(f), before[i]![0], f);
      assert.equal(statSync(f).mtimeMs, before[i]![1], f);
    });
  });

  test('adding a node issues only its pair, under the existing CA', async () => {
    const home2 = tempHome();
    const first = await ensureDevPki(home2, ['tss1']);
    const caBefore = readFileSync(first.caCert);
    const second = await ensureDevPki(home2, ['tss1', 'tss5']);
    assert.deepEqual(second.created, [pkiLayout(home2, 'tss5').key, pkiLayout(home2, 'tss5').cert]);
    assert.deepEqual(readFileSync(first.caCert), caBefore);
    assert.ok(verifyIssuedBy(readFileSync(pkiLayout(home2, 'tss5').cert), caBefore));
  });

  test('refuses half-written pairs, orphaned leaves and certificates of another CA', async () => {
    const home2 = tempHome();
    await ensureDevPki(home2, ['tss1']);
    const paths = pkiLayout(home2, 'tss1');
    const key = readFileSync(paths.key);
    unlinkSync(paths.key);
    await assert.rejects(ensureDevPki(home2, ['tss1']), DevPkiError);
    writeFileSync(paths.key, key, { mode: 0o600 });

    const foreign = await ensureDevPki(tempHome(), ['tss1']);
    copyFileSync(foreign.entities.tss1!.cert, paths.cert);
    await assert.rejects(ensureDevPki(home2, ['tss1']), /was not issued by/);

    const orphanHome = tempHome();
    await ensureDevPki(orphanHome, ['tss1']);
    unlinkSync(pkiLayout(orphanHome, 'tss1').caCert);
    unlinkSync(pkiLayout(orphanHome, 'tss1').caKey);
    await assert.rejects(ensureDevPki(orphanHome, ['tss1']), /its CA does not/);
  });

  test('rejects ids that would escape the certs directory', () => {
    assert.throws(() => pkiLayout(home, '../tss1'), CertificateIdentityError);
    assert.throws(() => pkiLayout(home, 'TSS1'), CertificateIdentityError);
    assert.throws(() => pkiLayout(home, ''), CertificateIdentityError);
  });

  test('CUSTOS_HOME defaults to ./.custos', () => {
    assert.equal(custosHome({}), join(process.cwd(), '.custos'));
    assert.equal(custosHome({ CUSTOS_HOME: '/srv/custos' }), '/srv/custos');
  });
});

describe('identityOfCertificate', () => {
  async function selfSigned(uris: string[]): Promise<string> {
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
    const cert = await X509CertificateGenerator.createSelfSigned(
      {
        serialNumber: randomBytes(8).toString('hex').replace(/^./, '1'),
        name: 'CN=test',
        keys,
        signingAlgorithm: alg,
        extensions: uris.length
          ? [new SubjectAlternativeNameExtension(uris.map((value) => ({ type: 'url' as const, value })))]
          : [],
      },
      webcrypto,
    );
    return cert.toString('pem');
  }

  test('rejects certificates without exactly one Custos SPIFFE URI', async () => {
    const base = 'spiffe://custos.dev/ns/bank/cluster/prod';
    const cases: [string[], RegExp][] = [
      [[], /found 0/],
      [[`${base}/node/tss1`, `${base}/node/tss2`], /found 2/],
      [[`${base}/node/tss1`, 'spiffe://evil.example/node/tss1'], /found 2/],
      [['spiffe://evil.example/node/tss1'], /not a Custos identity/],
      // The unscoped form is not an identity: it would be valid in every cluster under the CA.
      [['spiffe://custos.dev/node/tss1'], /malformed/],
      [['spiffe://custos.dev/gateway'], /malformed/],
      [[`${base}/node/tss1/extra`], /malformed/],
      [[`${base}/node/gateway`], /malformed/],
      [[`${base}/node/`], /malformed/],
      [[`${base}/admin`], /malformed/],
      [['spiffe://custos.dev/ns/Bank/cluster/prod/gateway'], /malformed/],
      [['spiffe://custos.dev/ns/bank/cluster//gateway'], /malformed/],
    ];
    for (const [uris, message] of cases) {
      const pem = await selfSigned(uris);
      assert.throws(() => identityOfCertificate(pem), message, JSON.stringify(uris));
    }
    assert.deepEqual(identityOfCertificate(await selfSigned(['https://example.com', `${base}/node/tss9`])), {
      namespace: 'bank',
      cluster: 'prod',
      kind: 'node',
      id: 'tss9',
    });
    assert.throws(() => identityOfCertificate('garbage'), /unparseable/);
  });

  test('spiffeIdOf and parseSpiffeId are inverse, and refuse ids that do not fit the scheme', () => {
    const scope = { namespace: 'custody', cluster: 'main' };
    for (const id of ['gateway', 'tss1', 'tss16']) {
      const parsed = parseSpiffeId(spiffeIdOf(scope, id));
      assert.deepEqual(parsed, { ...scope, kind: id === 'gateway' ? 'gateway' : 'node', id });
    }
    assert.throws(() => spiffeIdOf({ namespace: 'a/b', cluster: 'main' }, 'tss1'), /invalid cluster scope/);
    assert.throws(() => spiffeIdOf(scope, 'TSS1'), /invalid node id/);
  });

  test('a peer from another cluster under the same CA is refused, whatever it claims to be', () => {
    const own = { namespace: 'custody', cluster: 'main' };
    const peer = (namespace: string, cluster: string, id: string) =>
      parseSpiffeId(spiffeIdOf({ namespace, cluster }, id));
    assert.equal(peerMismatch(own, peer('custody', 'main', 'tss1'), { kind: 'node', id: 'tss1' }), undefined);
    assert.equal(peerMismatch(own, peer('custody', 'main', 'gateway'), { kind: 'gateway' }), undefined);
    assert.match(
      peerMismatch(own, peer('custody', 'other', 'gateway'), { kind: 'gateway' }) ?? '',
      /not a member of custody\/main/,
    );
    assert.match(peerMismatch(own, peer('tenant', 'main', 'tss1'), { kind: 'node', id: 'tss1' }) ?? '', /not a member/);
    assert.match(
      peerMismatch(own, peer('custody', 'main', 'tss2'), { kind: 'node', id: 'tss1' }) ?? '',
      /expected node tss1/,
    );
    assert.match(peerMismatch(own, peer('custody', 'main', 'tss1'), { kind: 'gateway' }) ?? '', /expected a gateway/);
  });
});
