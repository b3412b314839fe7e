import { test } from 'vitest';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { ensureDevPki } from '../common/pki/dev-pki.ts';
import { makePeerVerifier } from './server.ts';

async function pki() {
  const home = mkdtempSync(join(tmpdir(), 'custos-peer-'));
  await ensureDevPki(home, ['tss1', 'tss2']);
  const der = (id: string) => new X509Certificate(readFileSync(join(home, 'certs', id, `${id}.cert`))).raw;
  return { ca: readFileSync(join(home, 'certs', 'ca.cert')), der };
}

test('a peer certificate must come from the cluster CA and name the expected node, cached or not', async () => {
  const ours = await pki();
  const foreign = await pki();
  const verify = makePeerVerifier(ours.ca);
  assert.ok(verify('tss1', ours.der('tss1')));
  // Once verified (and cached), the certificate still only speaks for its own node id.
  assert.ok(verify('tss1', ours.der('tss1')));
  assert.throws(() => verify('tss2', ours.der('tss1')), /names tss1, not tss2/);
  assert.throws(() => verify('tss1', ours.der('gateway')), /not tss1/);
  assert.throws(() => verify('tss1', foreign.der('tss1')), /not issued by the cluster CA/);
  assert.throws(
    () => verify('tss1', foreign.der('tss1')),
    /not issued by the cluster CA/,
    'failures are not cached as success',
  );
});
