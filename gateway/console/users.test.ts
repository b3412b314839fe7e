import { describe, test, beforeAll } from 'vitest';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { migrateToLatest, openDatabase, type Db } from '../db/index.ts';
import { createConsoleSessionStore, csrfMatches } from './sessions.ts';
import { decodeTotpSecret, newTotpSecret, totp } from './totp.ts';
import { afterFailure, createConsoleUserStore, type ConsoleUserStore } from './users.ts';

const POLICY = { maxFailures: 3, lockSeconds: 60 };
const PASSWORD = 'a long console password';
let db: Db;
let users: ConsoleUserStore;
const secret = newTotpSecret();
const codeAt = (ms: number) => totp(decodeTotpSecret(secret), ms);

beforeAll(async () => {
  db = openDatabase({ url: 'sqlite::memory:', home: '/nonexistent' });
  await migrateToLatest(db);
  users = createConsoleUserStore(db, randomBytes(32), POLICY);
  await users.create({ username: 'alice', password: PASSWORD, totp_secret: secret, roles: ['key-admin'] });
});

describe('console users', () => {
  test('password and the current code log in, with the user roles', async () => {
    const now = Date.now();
    assert.deepEqual(await users.login('alice', PASSWORD, codeAt(now), now), {
      ok: true,
      username: 'alice',
      roles: ['key-admin'],
    });
  });

  test('attacker replays the code just used: refused', async () => {
    const now = Date.now() + 30_000;
    assert.equal((await users.login('alice', PASSWORD, codeAt(now), now)).ok, true);
    assert.deepEqual(await users.login('alice', PASSWORD, codeAt(now), now + 1000), { ok: false, reason: 'BAD_TOTP' });
  });

  test('the TOTP secret is not stored in the clear', async () => {
    const row = await db
      .selectFrom('console_users')
      .selectAll()
      .where('username', '=', 'alice')
      .executeTakeFirstOrThrow();
    assert.ok(!row.totp_secret_enc.includes(secret));
    assert.ok(!row.password_hash.includes(PASSWORD));
  });

  test('unknown users and wrong passwords are refused alike', async () => {
    assert.deepEqual(await users.login('mallory', PASSWORD, '000000'), { ok: false, reason: 'UNKNOWN_USER' });
    assert.deepEqual(await users.login('<bad name>', PASSWORD, '000000'), { ok: false, reason: 'UNKNOWN_USER' });
  });

  test('attacker guesses passwords: locked after the limit, even the right password then fails', async () => {
    await users.create({ username: 'bob', password: PASSWORD, totp_secret: secret });
    const now = Date.now();
    for (let i = 0; i < POLICY.maxFailures; i++) {
      assert.deepEqual(await users.login('bob', `guess ${i} guess guess`, '000000', now), {
        ok: false,
        reason: 'BAD_PASSWORD',
      });
    }
    assert.deepEqual(await users.login('bob', PASSWORD, codeAt(now), now), { ok: false, reason: 'LOCKED' });
    const later = now + POLICY.lockSeconds * 1000 + 1000;
    assert.deepEqual(await users.login('bob', PASSWORD, codeAt(later), later), {
      ok: true,
      username: 'bob',
      roles: ['admin'],
    });
  });

  test('failures count up to the limit, then lock and reset', () => {
    assert.deepEqual(afterFailure(0, 0, POLICY), { failed: 1, lockedUntil: null });
    assert.deepEqual(afterFailure(2, 0, POLICY), { failed: 0, lockedUntil: new Date(60_000).toISOString() });
  });
});

describe('console sessions', () => {
  test('a session lives until idle or absolute expiry, and not after logout', async () => {
    const sessions = createConsoleSessionStore(db, { idleSeconds: 60, absoluteSeconds: 300 });
    const t0 = Date.now();
    const { token, csrfToken } = await sessions.create('alice', t0);
    assert.deepEqual(await sessions.lookup(token, t0 + 50_000), { username: 'alice', csrfToken });
    assert.ok(await sessions.lookup(token, t0 + 100_000));
    assert.equal(await sessions.lookup(token, t0 + 170_000), undefined);
    const second = await sessions.create('alice', t0);
    for (let t = t0 + 50_000; t < t0 + 300_000; t += 50_000) assert.ok(await sessions.lookup(second.token, t));
    assert.equal(await sessions.lookup(second.token, t0 + 300_000), undefined);
    const third = await sessions.create('alice', t0);
    await sessions.destroy(third.token);
    assert.equal(await sessions.lookup(third.token, t0), undefined);
  });

  test('attacker with a guessed or altered cookie or CSRF token gets nothing', async () => {
    const sessions = createConsoleSessionStore(db, { idleSeconds: 60, absoluteSeconds: 300 });
    const { token, csrfToken } = await sessions.create('alice');
    assert.equal(await sessions.lookup(`${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`), undefined);
    assert.equal(await sessions.lookup('short'), undefined);
    assert.equal(csrfMatches(csrfToken, csrfToken), true);
    assert.equal(csrfMatches(csrfToken, `${csrfToken.slice(0, -1)}x`), false);
    assert.equal(csrfMatches(csrfToken, undefined), false);
    assert.equal(csrfMatches(csrfToken, ''), false);
  });
});
