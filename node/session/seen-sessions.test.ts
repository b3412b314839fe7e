import { test } from 'vitest';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { ShareStore } from '../storage/share-store.ts';
import { CLOCK_SKEW_MS, MAX_SESSION_LIFETIME_MS, SeenSessions, deadlineProblem, expiredIds } from './seen-sessions.ts';
import { SessionFailure } from './session.ts';

const T0 = 1_800_000_000_000;
const code = (c: string) => (e: unknown) => e instanceof SessionFailure && e.code === c;

function fresh() {
  return { dir: mkdtempSync(join(tmpdir(), 'custos-seen-')), dek: Uint8Array.from(randomBytes(32)) };
}

test('deadlines: accepted within the skew, refused when past or implausibly far', () => {
  assert.equal(deadlineProblem(T0 + 30_000, T0), undefined);
  assert.equal(deadlineProblem(T0 - CLOCK_SKEW_MS, T0), undefined);
  assert.match(deadlineProblem(T0 - CLOCK_SKEW_MS - 1, T0)!, /past its deadline/);
  assert.match(deadlineProblem(T0 + MAX_SESSION_LIFETIME_MS + CLOCK_SKEW_MS + 1, T0)!, /too far ahead/);
  assert.match(deadlineProblem(0, T0)!, /no deadline/);
  assert.match(deadlineProblem(Number.NaN, T0)!, /no deadline/);
  assert.deepEqual(
    expiredIds(
      new Map([
        ['a', T0 - 1],
        ['b', T0],
      ]),
      T0,
    ),
    ['a'],
  );
});

test('a session id is accepted once, also after the node restarts', { timeout: 30_000 }, async () => {
  const { dir, dek } = fresh();
  let now = T0;
  let store = await ShareStore.open(dir, 'tss1', dek);
  let seen = await SeenSessions.open(store, () => now);
  await seen.claim('session-aaaa', T0 + 30_000);
  await assert.rejects(seen.claim('session-aaaa', T0 + 30_000), code('REPLAY'));
  await store.close();

  // Restart: a new process loads the index from the encrypted store.
  store = await ShareStore.open(dir, 'tss1', dek);
  seen = await SeenSessions.open(store, () => now);
  await assert.rejects(seen.claim('session-aaaa', T0 + 30_000), code('REPLAY'));
  // A replay that lies about the deadline to look fresh is refused as seen, too.
  await assert.rejects(seen.claim('session-aaaa', T0 + 120_000), code('REPLAY'));

  // Once the id's retention ends it is forgotten, and its start is then past its deadline.
  now = T0 + 30_000 + CLOCK_SKEW_MS + 1;
  await seen.claim('session-bbbb', now + 10_000); // evicts
  assert.equal(seen.size, 1);
  await assert.rejects(seen.claim('session-aaaa', T0 + 30_000), code('BAD_START'));
  await store.close();
  store = await ShareStore.open(dir, 'tss1', dek);
  assert.deepEqual([...(await store.seenSessions()).keys()], ['session-bbbb']);
  await store.close();
});

test('an altered session entry is reported as tampering, never ignored', { timeout: 30_000 }, async () => {
  const { dir, dek } = fresh();
  const store = await ShareStore.open(dir, 'tss1', dek);
  await store.rememberSession('session-aaaa', T0);
  await store.rememberSession('session-bbbb', T0);
  await store.close();
  const db = new ClassicLevel<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  // Move one entry's value to another id (e.g. to extend a retention or fake an id).
  await db.put('session/session-cccc', (await db.get('session/session-aaaa'))!);
  await db.close();
  const reopened = await ShareStore.open(dir, 'tss1', dek);
  try {
    await assert.rejects(
      SeenSessions.open(reopened, () => T0),
      /session entry session-cccc fails authentication/,
    );
  } finally {
    await reopened.close();
  }
});

test('invalid session ids are refused by the store', { timeout: 30_000 }, async () => {
  const { dir, dek } = fresh();
  const store = await ShareStore.open(dir, 'tss1', dek);
  try {
    await assert.rejects(store.rememberSession('../x', T0), /invalid session id/);
    await assert.rejects(store.forgetSessions(['a b']), /invalid session id/);
  } finally {
    await store.close();
  }
});
