/**
 * An approved operation runs at most once even when two gateway replicas (two connection pools on
 * one database) execute or approve it at the same moment: on SQLite and on a real MariaDB.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { mariadbAvailable, startMariaDb, type MariaDbServer } from '../../test/support/mariadb-server.ts';
import { createAuditLog, type AuditLog } from '../audit/audit-log.ts';
import { migrateToLatest, openDatabase, type Db } from '../db/index.ts';
import { createPolicyService } from '../policies/service.ts';
import { createPolicyStore } from '../policies/store.ts';
import { createVelocityLedger } from '../policies/velocity.ts';
import { createApprovalService, type ApprovalService } from './service.ts';

interface Replicas {
  a: ApprovalService;
  b: ApprovalService;
  /** Another service on a's connection. */
  bSameConnection: ApprovalService;
  db: Db;
  executions: string[];
  clock: { now: number };
  audit: AuditLog;
  other: Db;
  close(): Promise<void>;
}

async function replicas(url: string, home: string): Promise<Replicas> {
  const db = openDatabase({ url, home });
  await migrateToLatest(db);
  const other = openDatabase({ url, home });
  // One audit writer: concurrent audit appends across replicas are the audit log's own concern.
  const audit: AuditLog = createAuditLog({ db, signingKey: randomBytes(32), checkpointEvery: 1000 });
  const clock = { now: Date.now() };
  const executions: string[] = [];
  const make = (d: Db, name: string) => {
    const s = createApprovalService({ db: d, audit, expirySeconds: 3600, now: () => clock.now });
    s.registerExecutor('KEY_STATUS_CHANGE', async (payload, approval) => {
      executions.push(`${name}:${approval.approval_id}`);
      await sleep(25); // the operation takes a while: the other replica tries meanwhile
      return { done: payload.key_id };
    });
    return s;
  };
  return {
    a: make(db, 'a'),
    b: make(other, 'b'),
    bSameConnection: make(db, 'b'),
    db,
    executions,
    clock,
    audit,
    other,
    async close() {
      await other.destroy();
      await db.destroy();
    },
  };
}

const ctx = (userId: string) => ({ requestId: `req_${randomBytes(12).toString('hex')}`, userId, trail: {} });
const requestOne = (r: Replicas, required = 1) =>
  r.a.request(
    {
      operation: 'KEY_STATUS_CHANGE',
      requester: 'alice',
      keyId: `key_${'0'.repeat(32)}`,
      payload: { key_id: 'k', status: 'FROZEN' },
      requirements: [{ source: 'test', required, approvers: null }],
    },
    ctx('alice'),
  );

/**
 * `deciders`: on SQLite, which serves one gateway, the approvers' race runs on one connection —
 * a second connection would race the audit log's own transaction, not the approvals table.
 */
function suite(
  name: string,
  deciders: 'two-connections' | 'one-connection',
  open: () => Promise<{ url: string; home: string; done(): Promise<void> }>,
) {
  describe(`approvals on ${name}`, () => {
    let r: Replicas;
    let env: { done(): Promise<void> };
    beforeAll(async () => {
      const e = await open();
      env = e;
      r = await replicas(e.url, e.home);
    }, 120_000);
    afterAll(async () => {
      await r?.close();
      await env?.done();
    });

    test('two replicas executing one approved request at once: it runs once', { timeout: 60_000 }, async () => {
      for (let i = 0; i < 15; i++) {
        const { approval_id: id } = await requestOne(r);
        await r.db.updateTable('approvals').set({ status: 'APPROVED' }).where('approval_id', '=', id).execute();
        const before = r.executions.length;
        await Promise.all([r.a.execute(id, ctx('bob')), r.b.execute(id, ctx('carol'))]);
        assert.equal(r.executions.length - before, 1, `approval ${id} ran ${r.executions.length - before} times`);
        const final = await r.b.get(id);
        assert.equal(final.status, 'EXECUTED');
        assert.deepEqual(final.result, { done: 'k' });
        // Executing again (a retry, a late replica) never runs it again.
        await r.b.execute(id, ctx('dave'));
        assert.equal(r.executions.length - before, 1);
      }
    });

    test(
      'M-of-N approvers racing on two replicas: every accepted decision is kept and the operation runs once',
      { timeout: 60_000 },
      async () => {
        for (let i = 0; i < 8; i++) {
          const { approval_id: id } = await requestOne(r, 2);
          const before = r.executions.length;
          const outcomes = await Promise.allSettled(
            ['bob', 'carol', 'dave'].map((who, n) =>
              (n % 2 === 0 ? r.a : deciders === 'two-connections' ? r.b : r.bSameConnection).decide(
                id,
                'APPROVE',
                null,
                ctx(who),
              ),
            ),
          );
          assert.equal(r.executions.length - before, 1);
          const final = await r.a.get(id);
          assert.equal(final.status, 'EXECUTED');
          const accepted = ['bob', 'carol', 'dave'].filter((_, n) => outcomes[n]!.status === 'fulfilled');
          for (const who of accepted)
            assert.ok(
              final.decisions.some((d) => d.access_key === who),
              `${who}'s approval lost`,
            );
          assert.ok(final.decisions.length >= 2 && final.decisions.length <= 3);
          for (const o of outcomes) {
            if (o.status === 'rejected') assert.equal((o.reason as { status?: number }).status, 409, String(o.reason));
          }
        }
      },
    );

    test('velocity racing on two replicas never lets one more sign through', { timeout: 60_000 }, async () => {
      const otherDb = r.other;
      const [p1, p2] = [r.db, otherDb].map((d, i) =>
        createPolicyService({
          store: createPolicyStore(d),
          velocity: createVelocityLedger(d),
          approvals: i === 0 ? r.a : r.b,
          audit: r.audit,
        }),
      );
      await p1!.create(
        {
          name: `velocity-${randomBytes(4).toString('hex')}`,
          enabled: true,
          rules: [
            {
              id: 'one',
              operations: ['KEY_SIGN'],
              match: {},
              conditions: { velocity: { per: 'key', window_seconds: 600, max: 1 } },
              action: 'deny',
            },
          ],
        },
        ctx('admin'),
      );
      for (let round = 0; round < 5; round++) {
        const keyId = `key_${randomBytes(16).toString('hex')}`;
        const req = {
          operation: 'KEY_SIGN' as const,
          accessKey: 'AK_signer',
          nowMs: Date.now(),
          key: { keyId, label: null, algorithm: 'EDDSA' },
          sign: { dataType: 'RAW' },
        };
        const decisions = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? p2! : p1!).decide(req)));
        const allowed = decisions.filter((d) => d.decision.action === 'allow').length;
        assert.ok(allowed <= 1, `${allowed} signs allowed where the limit is 1`);
      }
      await r.db.deleteFrom('policies').execute();
    });

    test('a request as large as the body limit allows is stored whole', { timeout: 30_000 }, async () => {
      const data = `0x${'ab'.repeat(120_000)}`;
      const approval = await r.a.request(
        {
          operation: 'KEY_SIGN',
          requester: 'alice',
          payload: { key_id: 'k', data, data_type: 'RAW' },
          requirements: [{ source: 'test', required: 1, approvers: null }],
        },
        ctx('alice'),
      );
      assert.equal((await r.b.get(approval.approval_id)).request.data, data);
    });

    test('an expired request refuses decisions, reads and lists as EXPIRED', { timeout: 30_000 }, async () => {
      const { approval_id: id } = await requestOne(r);
      r.clock.now += 3601_000;
      try {
        await assert.rejects(r.b.decide(id, 'APPROVE', null, ctx('bob')), (e: { status?: number }) => e.status === 409);
        assert.equal((await r.a.get(id)).status, 'EXPIRED');
        const row = await r.db
          .selectFrom('approvals')
          .select('status')
          .where('approval_id', '=', id)
          .executeTakeFirstOrThrow();
        assert.equal(row.status, 'EXPIRED');
        const listed = await r.a.list({ status: 'EXPIRED', limit: 100 });
        assert.ok(listed.items.some((a) => a.approval_id === id));
      } finally {
        r.clock.now -= 3601_000;
      }
    });
  });
}

suite('SQLite (two connections to one file)', 'one-connection', async () => {
  const home = mkdtempSync(join(tmpdir(), 'custos-approvals-'));
  return {
    url: `sqlite:${join(home, 'custos.db')}`,
    home,
    done: async () => rmSync(home, { recursive: true, force: true }),
  };
});

let maria: MariaDbServer | undefined;
suite('MariaDB (two connection pools)', 'two-connections', async () => {
  assert.ok(mariadbAvailable(), 'mariadbd is not installed: run hack/test-deps.sh');
  maria = await startMariaDb();
  const url = await maria.createDatabase('custos_approvals');
  return { url, home: '/nonexistent', done: async () => maria?.stop() };
});
