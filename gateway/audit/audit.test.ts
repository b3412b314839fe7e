import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, beforeEach, afterEach } from 'vitest';
import { sql } from 'kysely';
import { migrateToLatest, openDatabase, type Db } from '../db/index.ts';
import { createAuditLog, type AuditLog } from './audit-log.ts';
import { canonicalJson } from './chain.ts';
import { verifyAuditLog } from './verify.ts';
import { dropAuditTriggers } from '../testing/audit-tamper.ts';

const EVERY = 4;

describe('hash-chained audit log', () => {
  let dir: string;
  let db: Db;
  let audit: AuditLog;
  const verify = () => verifyAuditLog(db, { publicKeyHex: audit.publicKeyHex, checkpointEvery: EVERY });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'custos-audit-'));
    db = openDatabase({ home: dir });
    await migrateToLatest(db);
    audit = createAuditLog({ db, signingKey: randomBytes(32), checkpointEvery: EVERY });
    // These tests play an attacker who can drop the append-only triggers (append-only.test.ts).
    await dropAuditTriggers(db);
  });
  afterEach(async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  async function fill(n: number) {
    for (let i = 0; i < n; i++) {
      await audit.record({ operation: 'KEY_SIGN', result: 'SUCCESS', keyId: `key_${i}`, trail: { ip: '127.0.0.1' } });
    }
  }

  test('canonical JSON sorts keys at every level', () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: null } }),
      '{"a":{"c":null,"d":[2,{"y":2,"z":1}]},"b":1}',
    );
  });

  test('concurrent appends form one unbroken chain with signed checkpoints', async () => {
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        audit.record({ operation: 'NODE_START', result: 'SUCCESS', nodeId: `tss${i}` }),
      ),
    );
    assert.deepEqual(
      results.map((r) => r.seq).sort((a, b) => a - b),
      Array.from({ length: 30 }, (_, i) => i + 1),
    );
    assert.deepEqual(await verify(), { ok: true, entries: 30, checkpoints: 7 });
    assert.equal(await audit.length(), 30);
  });

  test('an edited row is found at its seq', async () => {
    await fill(10);
    await db.updateTable('audit_log').set({ result: 'FAILURE' }).where('seq', '=', 6).execute();
    const r = await verify();
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.firstBadSeq, 6);
  });

  test('an edit with recomputed hashes from there on is caught by the signed checkpoint', async () => {
    await fill(10);
    // Rewrite entry 6 and re-chain 6..10 as an attacker with DB access but no signing key would.
    const { entryHash } = await import('./chain.ts');
    const rows = await db.selectFrom('audit_log').selectAll().where('seq', '>=', 6).orderBy('seq').execute();
    let prev = (await db.selectFrom('audit_log').select('entry_hash').where('seq', '=', 5).executeTakeFirstOrThrow())
      .entry_hash;
    for (const row of rows) {
      const edited = { ...row, key_id: row.seq === 6 ? 'key_forged' : row.key_id, prev_hash: prev };
      const hash = entryHash(prev, edited);
      await db
        .updateTable('audit_log')
        .set({ key_id: edited.key_id, prev_hash: prev, entry_hash: hash })
        .where('seq', '=', row.seq)
        .execute();
      prev = hash;
    }
    const r = await verify();
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.firstBadSeq, 8);
  });

  test('a deleted row is reported at the missing seq', async () => {
    await fill(10);
    await db.deleteFrom('audit_log').where('seq', '=', 3).execute();
    const r = await verify();
    assert.deepEqual(r.ok ? null : [r.firstBadSeq, /missing/.test(r.reason)], [3, true]);
  });

  test('swapped rows are reported at the first of them', async () => {
    await fill(10);
    const a = await db.selectFrom('audit_log').selectAll().where('seq', '=', 5).executeTakeFirstOrThrow();
    const b = await db.selectFrom('audit_log').selectAll().where('seq', '=', 7).executeTakeFirstOrThrow();
    // Swap every column but seq: the rows trade places in the sequence.
    const { seq: _a, ...restA } = a;
    const { seq: _b, ...restB } = b;
    await db.updateTable('audit_log').set(restB).where('seq', '=', 5).execute();
    await db.updateTable('audit_log').set(restA).where('seq', '=', 7).execute();
    const r = await verify();
    assert.equal(!r.ok && r.firstBadSeq, 5);
  });

  test('truncating the tail past a checkpoint is detected', async () => {
    await fill(9);
    await db.deleteFrom('audit_log').where('seq', '>=', 7).execute();
    const r = await verify();
    assert.equal(!r.ok && r.firstBadSeq, 7);
  });

  test('a deleted or forged checkpoint is detected', async () => {
    await fill(9);
    await db
      .updateTable('audit_checkpoints')
      .set({ signature: '00'.repeat(64) })
      .where('seq', '=', 8)
      .execute();
    assert.equal(((await verify()) as { firstBadSeq: number }).firstBadSeq, 8);
    await sql`delete from audit_checkpoints where seq = 4`.execute(db);
    assert.equal(((await verify()) as { firstBadSeq: number }).firstBadSeq, 4);
  });

  test('checkpoints do not verify under another key', async () => {
    await fill(4);
    const other = createAuditLog({ db, signingKey: randomBytes(32), checkpointEvery: EVERY });
    const r = await verifyAuditLog(db, { publicKeyHex: other.publicKeyHex, checkpointEvery: EVERY });
    assert.equal(!r.ok && r.firstBadSeq, 4);
  });
});
