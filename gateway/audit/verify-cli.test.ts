import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'vitest';
import { loadOrCreateKeyFile } from '../auth/key-file.ts';
import { migrateToLatest, openDatabase } from '../db/index.ts';
import { createAuditLog } from './audit-log.ts';
import { dropAuditTriggers } from '../testing/audit-tamper.ts';

const run = promisify(execFile);
const cli = new URL('./verify-cli.ts', import.meta.url).pathname;

test('verify CLI: exit 0 on an intact log, 1 with the seq of the first tampered entry', async () => {
  const home = mkdtempSync(join(tmpdir(), 'custos-verify-'));
  const db = openDatabase({ home });
  try {
    await migrateToLatest(db);
    const audit = createAuditLog({
      db,
      signingKey: await loadOrCreateKeyFile(join(home, 'gateway', 'audit.key')),
      checkpointEvery: 100,
    });
    for (let i = 0; i < 5; i++) await audit.record({ operation: 'NODE_START', result: 'SUCCESS', nodeId: `tss${i}` });
    const args = ['--import', 'tsx', cli, '--home', home];
    const ok = await run(process.execPath, args);
    assert.match(ok.stdout, /intact: 5 entries/);
    await dropAuditTriggers(db);
    await db.updateTable('audit_log').set({ node_id: 'tss9' }).where('seq', '=', 4).execute();
    const bad = await run(process.execPath, args).then(
      () => assert.fail('expected exit 1'),
      (err: { code: number; stdout: string }) => err,
    );
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /TAMPERED at seq 4/);
  } finally {
    await db.destroy();
    rmSync(home, { recursive: true, force: true });
  }
});
