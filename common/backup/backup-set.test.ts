import { Decrypter, generateIdentity, identityToRecipient } from 'age-encryption';
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { ensureDevPki, pkiLayout } from '../pki/dev-pki.ts';
import { expiredSets, newSetId, sealSet, setTime, type SetSigner } from './backup-set.ts';
import { BackupError } from './errors.ts';
import { checkStoredFile, verifyManifest } from './manifest.ts';
import { decodeNodeBackup, encodeNodeBackup } from './node-file.ts';

const dirs: string[] = [];
function cluster(namespace: string, name: string, caFrom?: string) {
  const home = mkdtempSync(join(tmpdir(), 'custos-backup-test-'));
  dirs.push(home);
  return { home, ready: ensureDevPki(home, ['tss1'], { namespace, cluster: name }), caFrom };
}

function signerOf(home: string): SetSigner {
  const p = pkiLayout(home, 'gateway');
  const certificatePem = readFileSync(p.cert, 'utf8');
  return {
    key: createPrivateKey(readFileSync(p.key)),
    certificatePem,
    cluster: { namespace: 'local', cluster: 'dev' },
  };
}

const caOf = (home: string) => readFileSync(pkiLayout(home, 'gateway').caCert, 'utf8');

describe('backup sets', { timeout: 30_000 }, () => {
  let home: string;
  let other: string;
  let identity: string;
  let recipient: string;
  const node = {
    nodeId: 'tss1',
    wrappedDek: new Uint8Array([9, 9, 9]),
    anchor: new Uint8Array([1, 2]),
    shareVersions: new Map([['key_a', 3]]),
    entries: [['share/key_a', new Uint8Array([1, 0, 0, 0, 3, 7])] as const],
  };

  beforeAll(async () => {
    const a = cluster('local', 'dev');
    const b = cluster('local', 'other');
    await Promise.all([a.ready, b.ready]);
    home = a.home;
    other = b.home;
    identity = await generateIdentity();
    recipient = await identityToRecipient(identity);
  });
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  async function sealed() {
    const setId = newSetId(new Date('2026-12-01T03:40:00Z'));
    const files = [
      { name: 'nodes/tss1.age' as const, kind: 'node' as const, nodeId: 'tss1', bytes: encodeNodeBackup(node) },
    ];
    return { setId, ...(await sealSet(setId, files, [recipient], signerOf(home), new Date())) };
  }

  test('a sealed set verifies, its files match their hashes and decrypt with the recovery identity', async () => {
    const { setId, objects } = await sealed();
    assert.equal(setTime(setId).toISOString(), '2026-12-01T03:40:00.000Z');
    const manifest = verifyManifest(
      objects.get(`${setId}/manifest.json`)!,
      objects.get(`${setId}/manifest.sig`)!,
      caOf(home),
      {
        namespace: 'local',
        cluster: 'dev',
      },
    );
    const sealedFile = objects.get(`${setId}/nodes/tss1.age`)!;
    checkStoredFile(manifest.files[0]!, sealedFile);
    const d = new Decrypter();
    d.addIdentity(identity);
    const back = decodeNodeBackup(await d.decrypt(sealedFile));
    assert.deepEqual(back.entries[0]![1], node.entries[0]![1]);
    assert.equal(back.shareVersions.get('key_a'), 3);
    // Not in the clear: the stored object is age ciphertext.
    assert.equal(Buffer.from(sealedFile).includes(Buffer.from('share/key_a')), false);
  });

  test('an altered manifest, a bad signature, another CA and another cluster are refused', async () => {
    const { setId, objects } = await sealed();
    const bytes = Buffer.from(objects.get(`${setId}/manifest.json`)!);
    const sig = objects.get(`${setId}/manifest.sig`)!;
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        assert.ok(e instanceof BackupError, String(e));
        return e.code;
      }
      assert.fail('expected a refusal');
    };
    const edited = Buffer.from(bytes.toString().replace(/"size": (\d+)/, (_m, n) => `"size": ${Number(n) + 1}`));
    assert.equal(
      code(() => verifyManifest(edited, sig, caOf(home))),
      'BAD_SIGNATURE',
    );
    assert.equal(
      code(() => verifyManifest(bytes.subarray(0, bytes.length - 10), sig, caOf(home))),
      'MALFORMED',
    );
    const flipped = Buffer.from(sig);
    flipped[flipped.length - 1]! ^= 1;
    assert.equal(
      code(() => verifyManifest(bytes, flipped, caOf(home))),
      'BAD_SIGNATURE',
    );
    assert.equal(
      code(() => verifyManifest(bytes, sig, caOf(other))),
      'WRONG_CLUSTER',
    );
    assert.equal(
      code(() => verifyManifest(bytes, sig, caOf(home), { namespace: 'local', cluster: 'other' })),
      'WRONG_CLUSTER',
    );
  });

  test('a truncated or altered object is refused before decryption', async () => {
    const { setId, objects, manifest } = await sealed();
    const file = manifest.files[0]!;
    const stored = objects.get(`${setId}/nodes/tss1.age`)!;
    assert.throws(() => checkStoredFile(file, stored.subarray(0, stored.length - 1)), /TRUNCATED|truncated/);
    const altered = Uint8Array.from(stored);
    altered[altered.length - 5]! ^= 0x40;
    assert.throws(
      () => checkStoredFile(file, altered),
      (e: unknown) => e instanceof BackupError && e.code === 'TAMPERED',
    );
  });

  test('retention deletes sets past it but always keeps the newest complete one', () => {
    const now = new Date('2026-12-20T00:00:00Z');
    const set = (id: string, complete = true) => ({
      setId: id,
      createdAt: setTime(id).toISOString(),
      complete,
      sizeBytes: 1,
      objects: 3,
    });
    const sets = [
      set('20261101T000000Z-00000001'),
      set('20261125T000000Z-00000002'),
      set('20261130T000000Z-00000003', false),
    ];
    assert.deepEqual(expiredSets(sets, 30, now), ['20261101T000000Z-00000001']);
    // Everything past retention: the newest complete set stays; an incomplete one goes.
    assert.deepEqual(expiredSets(sets, 1, now), ['20261101T000000Z-00000001', '20261130T000000Z-00000003']);
  });
});
