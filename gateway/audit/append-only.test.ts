import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, beforeEach, afterEach } from 'vitest';
import { migrateToLatest, openDatabase, type Db } from '../db/index.ts';
import { dropAuditTriggers } from '../testing/audit-tamper.ts';
import { eventually } from '../../test/support/eventually.ts';
import { createAuditLog, type AuditLog } from './audit-log.ts';
import { entryHash } from './chain.ts';
import { compareHead, verifyAuditLog } from './verify.ts';

describe('audit tables are append-only; the head is sealed on a timer', { timeout: 30_000 }, () => {
  let dir: string;
  let db: Db;
  let audit: AuditLog;
  const EVERY = 100;
  const verify = () => verifyAuditLog(db, { publicKeyHex: audit.publicKeyHex, checkpointEvery: EVERY });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'custos-append-only-'));
    db = openDatabase({ home: dir });
    await migrateToLatest(db);
    audit = createAuditLog({ db, signingKey: randomBytes(32), checkpointEvery: EVERY });
  });
  afterEach(async () => {
    audit.close();
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test('UPDATE and DELETE on audit_log and audit_checkpoints are refused by triggers', async () => {
    for (let i = 0; i < 3; i++) await audit.record({ operation: 'KEY_SIGN', result: 'SUCCESS' });
    await audit.sealHead();
    await assert.rejects(
      db.updateTable('audit_log').set({ result: 'FAILURE' }).where('seq', '=', 2).execute(),
      /audit_log is append-only: UPDATE refused/,
    );
    await assert.rejects(db.deleteFrom('audit_log').where('seq', '=', 3).execute(), /append-only: DELETE refused/);
    await assert.rejects(
      db.updateTable('audit_checkpoints').set({ signature: '00' }).execute(),
      /audit_checkpoints is append-only: UPDATE refused/,
    );
    await assert.rejects(db.deleteFrom('audit_checkpoints').execute(), /append-only: DELETE refused/);
    assert.deepEqual(await verify(), { ok: true, entries: 3, checkpoints: 1 });
  });

  test('the timer signs a checkpoint for a head that grew, without waiting for N entries', async () => {
    const timed = createAuditLog({ db, signingKey: randomBytes(32), checkpointEvery: EVERY, checkpointIntervalMs: 50 });
    try {
      await timed.record({ operation: 'NODE_START', result: 'SUCCESS', nodeId: 'tss1' });
      await timed.record({ operation: 'NODE_START', result: 'SUCCESS', nodeId: 'tss2' });
      await eventually(
        'a timer checkpoint over seq 2',
        async () => {
          const head = await compareHead(db, { maxUnsealedMs: 60_000 });
          return head.latest_checkpoint?.seq === 2 && head.unsealed_entries === 0;
        },
        10_000,
        20,
      );
      // Sealing an unchanged head writes nothing new.
      assert.equal(await timed.sealHead(), 2);
      const n = await db.selectFrom('audit_checkpoints').select('seq').execute();
      assert.deepEqual(
        n.map((c) => Number(c.seq)),
        [2],
      );
    } finally {
      timed.close();
    }
  });

  test('an edit after the last checkpoint, re-chained and with that checkpoint removed, is caught by the head comparison', async () => {
    for (let i = 0; i < 4; i++) await audit.record({ operation: 'KEY_SIGN', result: 'SUCCESS', keyId: `key_${i}` });
    await audit.sealHead(); // the timer's checkpoint at seq 4
    await audit.record({ operation: 'KEY_SIGN', result: 'SUCCESS', keyId: 'key_4' });
    await audit.sealHead(); // at seq 5
    // The attacker (with DDL rights) rewrites entry 5, recomputes its hash and drops the checkpoint over it.
    await dropAuditTriggers(db);
    const row = await db.selectFrom('audit_log').selectAll().where('seq', '=', 5).executeTakeFirstOrThrow();
    const forged = { ...row, key_id: 'key_forged' };
    await db
      .updateTable('audit_log')
      .set({ key_id: 'key_forged', entry_hash: entryHash(row.prev_hash, forged) })
      .where('seq', '=', 5)
      .execute();
    await db.deleteFrom('audit_checkpoints').where('seq', '=', 5).execute();
    // The chain alone cannot see it: every link and the checkpoint at 4 still verify.
    assert.equal((await verify()).ok, true);
    // But entry 5 is older than the writer's timer allows for an unsealed entry.
    const later = Date.parse(row.created_time) + 5_000;
    const head = await compareHead(db, { maxUnsealedMs: 2_000, now: () => later });
    assert.equal(head.unsealed_entries, 1);
    assert.equal(head.problem?.firstBadSeq, 5);
    assert.match(head.problem?.reason ?? '', /not under a signed checkpoint/);
    // A fresh entry inside the interval is not a finding.
    assert.equal((await compareHead(db, { maxUnsealedMs: 60_000 })).problem, undefined);
  });
});
