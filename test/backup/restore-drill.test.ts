/**
 * Backup and node-restore drill with real processes: four TSS nodes and the gateway over mTLS,
 * two versitygw S3 servers (primary and DR), and the `custos` CLI as a process. A backup set is
 * written to both stores, verified with the offline recovery identity, refused when tampered,
 * truncated or from another cluster; then one node's data is wiped, restored from the set, the
 * node unseals with its password and every key it held signs again (checked with plain verifiers).
 */
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import Sqlite from 'better-sqlite3';
import { execFile } from 'node:child_process';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { ensureDevPki } from '../../common/pki/dev-pki.ts';
import { CustosClient } from '../../sdk/index.ts';
import { startLocalCluster, type LocalCluster } from '../support/local-cluster.ts';
import { startS3Server, type S3Server } from '../support/s3-server.ts';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);
const ETH_DST = 'BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_';
const hex = (b: Uint8Array) => `0x${bytesToHex(b)}`;
const unhex = (s: string) => hexToBytes(s.replace(/^0x/, ''));

function verifyBls(signature: string, message: Uint8Array, publicKey: string): boolean {
  const bls = bls12_381.longSignatures;
  return bls.verify(
    bls.Signature.fromBytes(unhex(signature)),
    bls.hash(message, ETH_DST),
    bls12_381.G1.Point.fromBytes(unhex(publicKey)),
  );
}

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

let cluster: LocalCluster;
let client: CustosClient;
let primary: S3Server;
let dr: S3Server;
let work: string;
let targetsFile: string;
let identityFile: string;

/** The CLI as shipped (dist/, after `npm run build`) under CUSTOS_RUNTIME=dist, else from the sources. */
const CLI_ENTRY =
  process.env.CUSTOS_RUNTIME === 'dist'
    ? [join(ROOT, 'dist', 'sdk', 'cli', 'main.js')]
    : ['--import', 'tsx', join(ROOT, 'sdk', 'cli', 'main.ts')];

function cli(args: string[]): Promise<CliRun> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [...CLI_ENTRY, ...args],
      { cwd: ROOT, env: { ...process.env, CUSTOS_HOME: cluster.home }, timeout: 120_000 },
      (err, stdout, stderr) => done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function ok(args: string[]): Promise<Record<string, unknown>> {
  const run = await cli(args);
  assert.equal(run.code, 0, `custos ${args.join(' ')} failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

const source = (location: 'primary' | 'dr') => [
  '--targets',
  targetsFile,
  '--identity',
  identityFile,
  '--location',
  location,
];

/** The directory versitygw keeps a set's objects in. */
const setDir = (server: S3Server, setId: string) =>
  join(server.root, 'data', server.config.bucket, 'custos-backups', setId);

function auditOperations(home: string): string[] {
  const db = new Sqlite(join(home, 'gateway', 'custos.db'), { readonly: true });
  try {
    return (db.prepare('SELECT operation FROM audit_log ORDER BY seq').all() as { operation: string }[]).map(
      (r) => r.operation,
    );
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'custos-drill-'));
  [primary, dr] = await Promise.all([startS3Server(), startS3Server()]);
  targetsFile = join(work, 'targets.json');
  writeFileSync(targetsFile, JSON.stringify({ primary: primary.config, dr: dr.config }), { mode: 0o600 });
  const identity = await generateIdentity();
  identityFile = join(work, 'recovery.key');
  writeFileSync(identityFile, `# offline recovery identity\n${identity}\n`, { mode: 0o600 });
  recipient = await identityToRecipient(identity);
  await startCluster();
}, 120_000);

let recipient: string;

/** A cluster with backups configured; on `home` (a restored site) or a fresh one. */
async function startCluster(home?: string): Promise<void> {
  cluster = await startLocalCluster({
    ...(home && { home }),
    gg18PoolSize: 0,
    algorithms: ['EDDSA', 'BLS'],
    gatewayEnv: { CUSTOS_BACKUP_TARGETS_FILE: targetsFile, CUSTOS_BACKUP_RECIPIENTS: recipient },
  });
  client = new CustosClient({ baseUrl: cluster.baseUrl, accessKey: cluster.accessKey, secretKey: cluster.secretKey });
}

/** `gateway/audit/verify-cli` as a process: exit 0 when the hash chain and checkpoints verify. */
function verifyAuditChain(home: string): Promise<CliRun> {
  const entry =
    process.env.CUSTOS_RUNTIME === 'dist'
      ? [join(ROOT, 'dist', 'gateway', 'audit', 'verify-cli.js')]
      : ['--import', 'tsx', join(ROOT, 'gateway', 'audit', 'verify-cli.ts')];
  return new Promise((done) => {
    execFile(process.execPath, [...entry, '--home', home], { cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) =>
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

afterAll(async () => {
  await cluster?.stop();
  await primary?.stop();
  await dr?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('backup and node restore drill', { timeout: 240_000 }, () => {
  // Every share is needed to sign (4-of-4), so a signature proves tss2's restored share works.
  const keys: { id: string; algo: 'EDDSA' | 'BLS'; publicKey: string }[] = [];
  let setId: string;

  test('a backup set is written to the primary and the DR store, status in /ready and metrics', async () => {
    for (const [algo, curve] of [
      ['EDDSA', 'ED25519'],
      ['BLS', 'BLS12_381'],
    ] as const) {
      const key = await client.generateKey({
        format: { curve, algo_type: algo },
        shard_properties: { shard_count: 4, threshold: 4 },
      });
      keys.push({ id: key.key_id, algo, publicKey: key.public_key });
    }
    const started = performance.now();
    const created = await ok(['backup', 'create']);
    console.log(
      `backup create (4 nodes, ${keys.length} keys): ${Math.round(performance.now() - started)} ms via CLI, ${String(created.duration_ms)} ms in the gateway, ${String(created.size_bytes)} bytes`,
    );
    setId = created.set_id as string;
    assert.deepEqual(created.locations, ['primary', 'dr']);
    assert.equal(created.files, 6); // four nodes, the database, the gateway key files
    for (const server of [primary, dr]) {
      assert.deepEqual(readdirSync(setDir(server, setId)).sort(), [
        'gateway',
        'manifest.json',
        'manifest.sig',
        'nodes',
      ]);
      // Stored objects are age ciphertext: no share record key and no SQLite header in the clear.
      const node = readFileSync(join(setDir(server, setId), 'nodes', 'tss2.age'));
      assert.ok(node.subarray(0, 22).toString().startsWith('age-encryption.org/v1'));
      assert.equal(node.includes(Buffer.from(`share/${keys[0]!.id}`)), false);
    }
    const listed = await ok(['backup', 'list']);
    assert.deepEqual(
      (listed.sets as { set_id: string; complete: boolean }[]).map((s) => [s.set_id, s.complete]),
      [[setId, true]],
    );
    const ready = await client.ready();
    assert.equal(ready.backup?.last_set_id, setId);
    assert.ok((ready.backup?.size_bytes ?? 0) > 0);
    assert.ok((ready.backup?.age_seconds ?? -1) >= 0);
    const metrics = await (await cluster.fetch(`${cluster.baseUrl}/metrics`)).text();
    assert.match(metrics, /custos_backup_last_success_timestamp_seconds \d/);
    assert.match(metrics, /custos_backups_total\{result="success"\} 1/);
  });

  test('verify checks every hash and the signature and decrypts with the recovery identity, in both stores', async () => {
    for (const location of ['primary', 'dr'] as const) {
      const started = performance.now();
      const verified = await ok(['backup', 'verify', ...source(location)]);
      console.log(`backup verify (${location}): ${Math.round(performance.now() - started)} ms`);
      assert.equal(verified.set_id, setId);
      assert.equal(verified.verified, true);
      assert.match(String(verified.audit), /recorded as audit entry \d+/);
    }
  });

  test('a wrong identity, another cluster, a tampered or truncated object are refused', async () => {
    const stranger = join(work, 'stranger.key');
    writeFileSync(stranger, `${await generateIdentity()}\n`);
    const wrongKey = await cli(['backup', 'verify', setId, '--targets', targetsFile, '--identity', stranger]);
    assert.equal(wrongKey.code, 1);
    assert.match(wrongKey.stderr, /DECRYPT_FAILED/);

    const otherHome = join(work, 'other-cluster');
    await ensureDevPki(otherHome, ['tss2'], { namespace: 'local', cluster: 'other' });
    const otherCa = await cli([
      'backup',
      'verify',
      setId,
      ...source('dr'),
      '--ca',
      join(otherHome, 'certs', 'ca.cert'),
    ]);
    assert.equal(otherCa.code, 1);
    assert.match(otherCa.stderr, /WRONG_CLUSTER/);

    // Damage the primary copy: the DR copy stays good.
    const dbObject = join(setDir(primary, setId), 'gateway', 'database.age');
    const bytes = readFileSync(dbObject);
    bytes[bytes.length - 20]! ^= 0x01;
    writeFileSync(dbObject, bytes);
    const tampered = await cli(['backup', 'verify', setId, ...source('primary')]);
    assert.equal(tampered.code, 1);
    assert.match(tampered.stderr, /TAMPERED: gateway\/database\.age does not match its SHA-256/);

    const nodeObject = join(setDir(primary, setId), 'nodes', 'tss2.age');
    truncateSync(nodeObject, 100);
    const truncated = await cli(['backup', 'restore', setId, '--node', 'tss2', ...source('primary')]);
    assert.equal(truncated.code, 1);
    assert.match(truncated.stderr, /TRUNCATED: nodes\/tss2\.age is 100 bytes/);

    const manifest = join(setDir(primary, setId), 'manifest.json');
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('"tss1"', '"tss9"'));
    const forged = await cli(['backup', 'verify', setId, ...source('primary')]);
    assert.equal(forged.code, 1);
    assert.match(forged.stderr, /BAD_SIGNATURE/);
  });

  test('restoring into a running node is refused and changes nothing', async () => {
    const dataDir = join(cluster.home, 'data', 'leveldb_tss2');
    const before = readdirSync(join(cluster.home, 'data')).sort();
    const running = await cli(['backup', 'restore', '--node', 'tss2', ...source('dr')]);
    assert.equal(running.code, 1);
    assert.match(running.stderr, /NODE_RUNNING/);
    assert.deepEqual(readdirSync(join(cluster.home, 'data')).sort(), before);
    assert.ok(existsSync(dataDir));
  });

  test('node restore: wipe tss2, restore from the latest set, unseal with its password, every key signs', async () => {
    await cluster.killNode('tss2');
    const dataDir = join(cluster.home, 'data', 'leveldb_tss2');
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(`${dataDir}.anchor`, { force: true });
    const started = performance.now();
    const restored = await ok(['backup', 'restore', '--node', 'tss2', ...source('dr')]);
    console.log(
      `backup restore --node tss2 (from DR): ${Math.round(performance.now() - started)} ms via CLI, ${String(restored.restore_ms)} ms writing`,
    );
    assert.equal(restored.set_id, setId);
    assert.equal(restored.shares, keys.length);
    await cluster.startNode('tss2');

    const message = new TextEncoder().encode('signed after restore');
    for (const key of keys) {
      const sig = await client.sign(key.id, { data: hex(message), data_type: 'RAW' });
      assert.ok(sig.signer_nodes.includes('tss2'));
      if (key.algo === 'EDDSA') assert.ok(ed25519.verify(unhex(sig.signature), message, unhex(key.publicKey)));
      else assert.ok(verifyBls(sig.signature, message, key.publicKey));
    }
    const ops = auditOperations(cluster.home);
    for (const op of ['BACKUP_CREATE', 'BACKUP_VERIFY', 'BACKUP_RESTORE']) assert.ok(ops.includes(op), op);
  });

  test('site loss: every node store and the gateway database destroyed, rebuilt from the DR store', async () => {
    const latest = await ok(['backup', 'create']);
    assert.equal(latest.files, 6);
    const auditBefore = auditOperations(cluster.home).length;
    const home = cluster.home;
    await cluster.stop();
    // Lost: all node data and the whole gateway directory. Kept from their own escrow: the PKI
    // (certs/) and the unseal passwords (secrets/), plus the recovery identity and the DR store.
    rmSync(join(home, 'data'), { recursive: true, force: true });
    rmSync(join(home, 'gateway'), { recursive: true, force: true });

    const started = performance.now();
    for (const node of ['tss1', 'tss2', 'tss3', 'tss4']) {
      const r = await ok(['backup', 'restore', '--node', node, ...source('dr')]);
      assert.equal(r.set_id, latest.set_id);
      assert.match(String(r.audit), /^not recorded/); // the gateway is gone too
    }
    const gw = await ok(['backup', 'restore', '--gateway', ...source('dr')]);
    assert.equal(gw.key_files, 2);
    console.log(`site restore (4 nodes + gateway, from DR): ${Math.round(performance.now() - started)} ms via CLI`);
    assert.ok((gw.audit_entries as number) >= auditBefore - 2);

    await startCluster(home);
    const message = new TextEncoder().encode('signed after site loss');
    for (const key of keys) {
      assert.equal((await client.getKey(key.id)).public_key, key.publicKey);
      const sig = await client.sign(key.id, { data: hex(message), data_type: 'RAW' });
      if (key.algo === 'EDDSA') assert.ok(ed25519.verify(unhex(sig.signature), message, unhex(key.publicKey)));
      else assert.ok(verifyBls(sig.signature, message, key.publicKey));
    }
    const audit = await verifyAuditChain(home);
    assert.equal(audit.code, 0, `audit chain: ${audit.stdout} ${audit.stderr}`);

    // A second restore of the now older set over the running site's newer database is refused.
    await cluster.stop();
    const stale = await cli(['backup', 'restore', String(latest.set_id), '--gateway', ...source('dr')]);
    assert.equal(stale.code, 1);
    assert.match(stale.stderr, /NEWER_DATA/);
  });
});
