import { test } from 'vitest';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { ensureDevPki } from '../common/pki/dev-pki.ts';
import { DEV_SCOPE, type ClusterScope } from '../common/pki/identity.ts';
import { makePeerVerifier, ownIdentity } from './server.ts';

async function pki(scope: ClusterScope = DEV_SCOPE) {
  const home = mkdtempSync(join(tmpdir(), 'custos-peer-'));
  await ensureDevPki(home, ['tss1', 'tss2'], scope);
  const der = (id: string) => new X509Certificate(readFileSync(join(home, 'certs', id, `${id}.cert`))).raw;
  return { ca: readFileSync(join(home, 'certs', 'ca.cert')), der };
}

test('a peer certificate must come from the cluster CA and name the expected node, cached or not', async () => {
  const ours = await pki();
  const foreign = await pki();
  const verify = makePeerVerifier(ours.ca, DEV_SCOPE);
  assert.ok(verify('tss1', ours.der('tss1')));
  // Once verified (and cached), the certificate still only speaks for its own node id.
  assert.ok(verify('tss1', ours.der('tss1')));
  assert.throws(() => verify('tss2', ours.der('tss1')), /expected node tss2/);
  assert.throws(() => verify('tss1', ours.der('gateway')), /expected a node/);
  assert.throws(() => verify('tss1', foreign.der('tss1')), /not issued by the cluster CA/);
  assert.throws(
    () => verify('tss1', foreign.der('tss1')),
    /not issued by the cluster CA/,
    'failures are not cached as success',
  );
});

test('a node certificate of another cluster under the same CA is refused', async () => {
  const home = mkdtempSync(join(tmpdir(), 'custos-peer-'));
  await ensureDevPki(home, ['tss1', 'tss2'], { namespace: 'custody', cluster: 'main' });
  const ca = readFileSync(join(home, 'certs', 'ca.cert'));
  const der = new X509Certificate(readFileSync(join(home, 'certs', 'tss1', 'tss1.cert'))).raw;
  // Same CA and same node id, but the verifier belongs to cluster custody/other.
  assert.ok(makePeerVerifier(ca, { namespace: 'custody', cluster: 'main' })('tss1', der));
  assert.throws(
    () => makePeerVerifier(ca, { namespace: 'custody', cluster: 'other' })('tss1', der),
    /not a member of custody\/other/,
  );
});

test('a node refuses to start with a certificate that does not name it', async () => {
  const home = mkdtempSync(join(tmpdir(), 'custos-peer-'));
  await ensureDevPki(home, ['tss1', 'tss2']);
  const cert = readFileSync(join(home, 'certs', 'tss1', 'tss1.cert'));
  assert.deepEqual(ownIdentity('tss1', cert), { ...DEV_SCOPE, kind: 'node', id: 'tss1' });
  assert.throws(() => ownIdentity('tss2', cert), /names node tss1, not node tss2/);
});
