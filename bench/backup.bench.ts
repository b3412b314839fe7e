/**
 * Backup and restore time for many keys (docs/operations.md): one node store with
 * CUSTOS_BENCH_KEYS share records (default 10,000; 2 KiB of share material each, about a GG18
 * share), its snapshot, the set sealed with age and signed (the store's file stands in for each of
 * four nodes), uploaded to two real versitygw stores, then downloaded, verified, decrypted and
 * restored into an empty data directory. The gateway database is left out (its size does not
 * grow with keys beyond metadata rows).
 */
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newSetId, readVerifiedSet, sealSet, uploadSet } from '../common/backup/backup-set.ts';
import { decodeNodeBackup, encodeNodeBackup } from '../common/backup/node-file.ts';
import { s3ObjectStore } from '../common/backup/object-store.ts';
import { ensureDevPki, pkiLayout } from '../common/pki/dev-pki.ts';
import { identityOfCertificate } from '../common/pki/identity.ts';
import { restoreNodeStore } from '../node/storage/restore.ts';
import { ShareStore } from '../node/storage/share-store.ts';
import { startS3Server } from '../test/support/s3-server.ts';
import { printTable } from './stats.ts';

const KEYS = Number(process.env.CUSTOS_BENCH_KEYS ?? 10_000);
const home = mkdtempSync(join(tmpdir(), 'custos-bench-backup-'));
const [primary, dr] = await Promise.all([startS3Server(), startS3Server()]);
const rows: (string | number)[][] = [];
const timed = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
  const started = performance.now();
  const out = await f();
  rows.push([what, Math.round(performance.now() - started)]);
  return out;
};
try {
  await ensureDevPki(home, ['tss1']);
  const dek = randomBytes(32);
  const dir = join(home, 'data', 'leveldb_tss1');
  const store = await ShareStore.open(dir, 'tss1', dek);
  await timed(`write ${KEYS} shares (setup)`, async () => {
    for (let i = 0; i < KEYS; i++) {
      await store.put({
        keyId: `key_${i.toString(16).padStart(32, '0')}`,
        algo: 'GG18',
        version: 0,
        threshold: 2,
        holders: ['tss1', 'tss2', 'tss3'],
        publicKey: randomBytes(33),
        publicInfo: randomBytes(1024),
        secretShare: randomBytes(1024),
      });
    }
  });
  const snap = await timed('snapshot (one node)', () => store.snapshot());
  await store.close();
  const identity = await generateIdentity();
  const p = pkiLayout(home, 'gateway');
  const certificatePem = readFileSync(p.cert, 'utf8');
  const signer = {
    key: createPrivateKey(readFileSync(p.key)),
    certificatePem,
    cluster: identityOfCertificate(certificatePem),
  };
  const node = { nodeId: 'tss1', wrappedDek: randomBytes(100), ...snap };
  const bytes = encodeNodeBackup(node);
  const files = ['tss1', 'tss2', 'tss3', 'tss4'].map((id) => ({
    name: `nodes/${id}.age` as const,
    kind: 'node' as const,
    nodeId: id,
    bytes: id === 'tss1' ? bytes : encodeNodeBackup({ ...node, nodeId: id }),
  }));
  const setId = newSetId(new Date());
  const { objects } = await timed('seal set (4 node files, age + manifest signature)', async () =>
    sealSet(setId, files, [await identityToRecipient(identity)], signer, new Date()),
  );
  const size = [...objects.values()].reduce((n, b) => n + b.length, 0);
  const stores = [s3ObjectStore('primary', primary.config), s3ObjectStore('dr', dr.config)];
  await timed(`upload to primary and DR (${(size / 1e6).toFixed(1)} MB each)`, async () => {
    for (const s of stores) await uploadSet(s, objects);
  });
  const caPem = readFileSync(p.caCert, 'utf8');
  await timed('verify whole set (download, hashes, signature, decrypt)', () =>
    readVerifiedSet(stores[1]!, setId, { caPem, identities: [identity] }),
  );
  const restored = await timed('restore one node: download, verify, decrypt', () =>
    readVerifiedSet(stores[1]!, setId, { caPem, identities: [identity], only: (f) => f.name === 'nodes/tss1.age' }),
  );
  const back = decodeNodeBackup(restored.files.get('nodes/tss1.age')!);
  rmSync(dir, { recursive: true });
  rmSync(`${dir}.anchor`);
  await timed('restore one node: write the store', () =>
    restoreNodeStore({ dataDir: dir, anchorPath: `${dir}.anchor`, dekPath: join(home, 'tss1.dek'), ...back }),
  );
  const reopened = await timed('unseal check: open the restored store', () => ShareStore.open(dir, 'tss1', dek));
  if ((await reopened.count()) !== KEYS) throw new Error('restored store lost shares');
  await reopened.close();
  printTable(['step', 'ms'], rows);
} finally {
  await primary.stop();
  await dr.stop();
  rmSync(home, { recursive: true, force: true });
}
