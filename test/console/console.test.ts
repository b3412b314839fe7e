/**
 * The admin console in a real browser: headless Chromium against a real gateway and four TSS nodes.
 * Logs in with password and TOTP, generates and freezes a key, verifies the audit chain, and plays
 * the attacker: wrong TOTP, no session, wrong CSRF token, a replayed code, repeated failures.
 */
import { describe, test, beforeAll, afterAll } from 'vitest';
import assert from 'node:assert/strict';
import Sqlite from 'better-sqlite3';
import { copyFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { decodeTotpSecret, newTotpSecret, totp } from '../../gateway/console/totp.ts';
import { createConsoleUserStore } from '../../gateway/console/users.ts';
import { openDatabase } from '../../gateway/db/index.ts';
import { CustosClient } from '../../sdk/index.ts';
import { startLocalCluster, type LocalCluster } from '../support/local-cluster.ts';
import { launchChromium, SCREENSHOT_DIR } from './browser.ts';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);

let cluster: LocalCluster;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let keyId: string;
/** The TOTP code of the successful login: good once. */
let usedCode: string;

const code = (offsetMs = 0) => totp(decodeTotpSecret(cluster.console_totp_secret!), Date.now() + offsetMs);
const shot = (name: string) => page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });

/** Audit entries as stored, read straight from the gateway's SQLite file. */
function auditEntries(operation: string): { user_id: string; result: string; error_code: string | null }[] {
  const db = new Sqlite(join(cluster.home, 'gateway', 'custos.db'), { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare('SELECT user_id, result, error_code FROM audit_log WHERE operation = ? ORDER BY seq')
      .all(operation) as { user_id: string; result: string; error_code: string | null }[];
  } finally {
    db.close();
  }
}

async function submitLogin(password: string, totpCode: string): Promise<number> {
  await page.goto(`${cluster.consoleUrl}/login`);
  await page.getByLabel('Username').fill(cluster.console_user!);
  await page.getByLabel('Password').fill(password);
  await page.getByLabel('Authenticator code').fill(totpCode);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/login') && r.request().method() === 'POST'),
    page.getByRole('button', { name: 'Log in' }).click(),
  ]);
  await page.waitForLoadState();
  return response.status();
}

beforeAll(async () => {
  cluster = await startLocalCluster({ gg18PoolSize: 0 });
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  page = await context.newPage();
  page.on('dialog', (dialog) => void dialog.accept());
});

afterAll(async () => {
  await browser?.close();
  await cluster?.stop();
});

describe('admin console', () => {
  test('nothing is reachable without a session: pages redirect to login, actions are refused and audited', async () => {
    await page.goto(`${cluster.consoleUrl}/keys`);
    assert.equal(new URL(page.url()).pathname, '/login');
    await shot('login');
    const res = await fetch(`${cluster.consoleUrl}/keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'algo=EDDSA&shard_count=3&threshold=2',
      redirect: 'manual',
    });
    assert.equal(res.status, 401);
    assert.ok(auditEntries('AUTH_REJECTED').some((e) => e.result === 'REJECTED' && e.error_code === 'UNAUTHENTICATED'));
    assert.equal(auditEntries('KEY_GENERATE').length, 0);
  });

  test('a wrong TOTP code is refused and audited', async () => {
    const right = code();
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0');
    assert.equal(await submitLogin(cluster.console_password!, wrong), 401);
    await page.getByRole('alert').filter({ hasText: 'Login failed' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/login');
    const logins = auditEntries('ADMIN_LOGIN');
    assert.deepEqual(logins.at(-1), {
      user_id: `console:${cluster.console_user}`,
      result: 'REJECTED',
      error_code: 'BAD_TOTP',
    });
  });

  test('logs in with password and TOTP and sees the cluster health', async () => {
    usedCode = code();
    assert.equal(await submitLogin(cluster.console_password!, usedCode), 303);
    assert.equal(new URL(page.url()).pathname, '/health');
    await page.getByRole('heading', { name: 'Cluster health' }).waitFor();
    const rows = page.locator('tbody tr');
    assert.equal(await rows.count(), 4);
    for (const id of ['tss1', 'tss2', 'tss3', 'tss4']) {
      const row = page.getByRole('row', { name: new RegExp(`^${id}\\b`) });
      assert.match(await row.innerText(), /yes\s+no/);
    }
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === '__Host-custos-console');
    assert.ok(session);
    assert.equal(session.httpOnly, true);
    assert.equal(session.secure, true);
    assert.equal(session.sameSite, 'Strict');
    // Keyboard first: the first Tab stop skips to the content, the next ones walk the navigation.
    await page.keyboard.press('Tab');
    assert.equal(await page.locator(':focus').textContent(), 'Skip to content');
    await page.keyboard.press('Enter');
    assert.equal(await page.locator(':focus').getAttribute('id'), 'main');
    await shot('health');
    assert.equal(auditEntries('ADMIN_LOGIN').at(-1)?.result, 'SUCCESS');
  });

  test('generates an EDDSA key and sees it in the list', async () => {
    await page.getByRole('link', { name: 'Keys', exact: true }).click();
    await page.getByRole('link', { name: 'Generate a key' }).click();
    await page.getByLabel('Algorithm').selectOption('EDDSA');
    await page.getByLabel('Label').fill('console-eddsa');
    await shot('generate');
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.getByRole('status').filter({ hasText: 'Key generated.' }).waitFor({ timeout: 120_000 });
    keyId = new URL(page.url()).pathname.split('/').pop()!;
    assert.match(keyId, /^key_[0-9a-f]{32}$/);
    assert.match(await page.locator('dl.facts').innerText(), /EDDSA on ED25519/);
    assert.match(await page.getByRole('row', { name: /^SOLANA/i }).innerText(), /[1-9A-HJ-NP-Za-km-z]{32,44}/);
    await shot('key-detail');
    await page.getByRole('link', { name: 'Keys', exact: true }).click();
    const row = page.getByRole('row', { name: new RegExp(keyId) });
    assert.match(await row.innerText(), /console-eddsa\s+EDDSA\s+ACTIVE\s+2 of 3/);
    await shot('keys');
    // The README's screenshot is refreshed on request only, so a test run leaves the tree clean.
    if (process.env.CUSTOS_UPDATE_SCREENSHOTS === '1') {
      copyFileSync(join(SCREENSHOT_DIR, 'keys.png'), join(ROOT, 'docs', 'console-keys.png'));
    }
    const generated = auditEntries('KEY_GENERATE');
    assert.deepEqual(generated.at(-1), {
      user_id: `console:${cluster.console_user}`,
      result: 'SUCCESS',
      error_code: null,
    });
  });

  test('the key page shows signatures made through the API; the list pages', async () => {
    const client = new CustosClient({
      baseUrl: cluster.baseUrl,
      accessKey: cluster.accessKey,
      secretKey: cluster.secretKey,
    });
    await client.sign(keyId, { data: '0x68656c6c6f', data_type: 'RAW' });
    const newer = await client.generateKey({ format: { curve: 'ED25519', algo_type: 'EDDSA' }, label: 'api-eddsa' });
    await page.goto(`${cluster.consoleUrl}/keys/${keyId}`);
    const signature = page.getByRole('row', { name: new RegExp(`SUCCESS ${cluster.accessKey} RAW`) });
    assert.equal(await signature.count(), 1);
    await page.goto(`${cluster.consoleUrl}/keys?limit=1`);
    assert.equal(await page.locator('tbody tr').count(), 1);
    assert.equal(await page.getByRole('row', { name: new RegExp(newer.key_id) }).count(), 1);
    await page.getByRole('link', { name: 'Next page' }).click();
    assert.equal(await page.getByRole('row', { name: new RegExp(keyId) }).count(), 1);
    assert.equal(await page.getByRole('row', { name: new RegExp(newer.key_id) }).count(), 0);
  });

  test('freezes the key through the same service and audit as the API', async () => {
    await page.goto(`${cluster.consoleUrl}/keys/${keyId}`);
    await page.getByLabel('New status').selectOption('FROZEN');
    await page.getByLabel('Reason').fill('suspected compromise');
    await page.getByRole('button', { name: 'Change status' }).click();
    await page.getByRole('status').filter({ hasText: 'Status changed to FROZEN.' }).waitFor();
    assert.match(await page.getByRole('row', { name: /suspected compromise/ }).innerText(), /ACTIVE → FROZEN/);
    await page.goto(`${cluster.consoleUrl}/keys?status=FROZEN`);
    assert.equal(await page.getByRole('row', { name: new RegExp(keyId) }).count(), 1);
    await page.goto(`${cluster.consoleUrl}/keys?status=ACTIVE`);
    assert.equal(await page.getByRole('row', { name: new RegExp(keyId) }).count(), 0);
  });

  test('a request with a wrong or missing CSRF token is refused and changes nothing', async () => {
    // The browser's own session cookie, sent by the context's request client: only the token is wrong.
    const send = (form: Record<string, string>) =>
      context.request
        .post(`${cluster.consoleUrl}/keys/${keyId}/status`, { form, maxRedirects: 0 })
        .then((r) => r.status());
    const forbiddenBefore = auditEntries('AUTH_REJECTED').filter((e) => e.error_code === 'FORBIDDEN').length;
    const statuses = [await send({ status: 'ACTIVE', _csrf: 'forged-token' }), await send({ status: 'ACTIVE' })];
    assert.deepEqual(statuses, [403, 403]);
    await page.goto(`${cluster.consoleUrl}/keys/${keyId}`);
    assert.match(await page.locator('dl.facts').innerText(), /Status\s+FROZEN/);
    const forbidden = auditEntries('AUTH_REJECTED').filter((e) => e.error_code === 'FORBIDDEN');
    assert.equal(forbidden.length, forbiddenBefore + 2);
    assert.equal(forbidden.at(-1)?.user_id, `console:${cluster.console_user}`);
  });

  test('the audit page shows the events, verifies the chain and exports JSON lines', async () => {
    await page.getByRole('link', { name: 'Audit' }).click();
    const table = await page.locator('table').innerText();
    for (const op of ['ADMIN_LOGIN', 'KEY_GENERATE', 'KEY_STATUS_CHANGE', 'AUTH_REJECTED'])
      assert.ok(table.includes(op), op);
    await page.getByRole('button', { name: 'Verify the chain' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: /Audit chain verified: \d+ entries/ })
      .waitFor();
    await shot('audit');
    await page.getByLabel('Operation').selectOption('ADMIN_LOGIN');
    await page.getByRole('button', { name: 'Filter' }).click();
    assert.match(await page.locator('tbody').innerText(), /BAD_TOTP/);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Export JSON lines' }).click(),
    ]);
    const lines = (await streamText(await download.createReadStream())).trim().split('\n');
    const entries = lines.map((l) => JSON.parse(l) as { operation: string; result: string; error_code: string | null });
    assert.ok(entries.length >= 2);
    assert.ok(entries.every((e) => e.operation === 'ADMIN_LOGIN'));
    assert.ok(entries.some((e) => e.result === 'REJECTED' && e.error_code === 'BAD_TOTP'));
    assert.ok(entries.some((e) => e.result === 'SUCCESS'));
  });

  test('a console user with the signer role reads keys but may not generate or freeze them', async () => {
    // A second user, added to the gateway's database as an operator of it would.
    const db = openDatabase({ home: cluster.home });
    const secret = newTotpSecret();
    try {
      const masterKey = new Uint8Array(readFileSync(join(cluster.home, 'gateway', 'master.key')));
      await createConsoleUserStore(db, masterKey, { maxFailures: 5, lockSeconds: 900 }).create({
        username: 'sam',
        password: 'signer password 1',
        totp_secret: secret,
        roles: ['signer'],
      });
    } finally {
      await db.destroy();
    }
    const other = await browser.newContext();
    try {
      const p = await other.newPage();
      await p.goto(`${cluster.consoleUrl}/login`);
      await p.getByLabel('Username').fill('sam');
      await p.getByLabel('Password').fill('signer password 1');
      await p.getByLabel('Authenticator code').fill(totp(decodeTotpSecret(secret), Date.now()));
      await p.getByRole('button', { name: 'Log in' }).click();
      await p.getByRole('heading', { name: 'Cluster health' }).waitFor();
      await p.goto(`${cluster.consoleUrl}/keys/${keyId}`);
      await p.getByLabel('New status').selectOption('ARCHIVED');
      p.on('dialog', (dialog) => void dialog.accept());
      const [response] = await Promise.all([
        p.waitForResponse((r) => r.url().endsWith('/status') && r.request().method() === 'POST'),
        p.getByRole('button', { name: 'Change status' }).click(),
      ]);
      assert.equal(response.status(), 403);
      await p.goto(`${cluster.consoleUrl}/keys/new`);
      const [generate] = await Promise.all([
        p.waitForResponse((r) => r.url().endsWith('/keys') && r.request().method() === 'POST'),
        p.getByRole('button', { name: 'Generate' }).click(),
      ]);
      assert.equal(generate.status(), 403);
    } finally {
      await other.close();
    }
    const refusals = auditEntries('AUTH_REJECTED').filter((e) => e.user_id === 'console:sam');
    assert.deepEqual(
      refusals.map((e) => e.error_code),
      ['FORBIDDEN', 'FORBIDDEN'],
    );
    await page.goto(`${cluster.consoleUrl}/keys/${keyId}`);
    assert.match(await page.locator('dl.facts').innerText(), /Status\s+FROZEN/);
  });

  test('logs out (audited); the old session no longer works', async () => {
    const old = (await context.cookies()).find((c) => c.name === '__Host-custos-console')!.value;
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(/\/login$/);
    assert.equal(auditEntries('ADMIN_LOGOUT').at(-1)?.user_id, `console:${cluster.console_user}`);
    const res = await fetch(`${cluster.consoleUrl}/keys`, {
      headers: { cookie: `__Host-custos-console=${old}` },
      redirect: 'manual',
    });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/login');
  });

  test('a replayed TOTP code is refused; repeated failures lock the user even against the right code', async () => {
    // The right password with the code of the earlier login: spent, so refused.
    assert.equal(await submitLogin(cluster.console_password!, usedCode), 401);
    // Four more failures make five in a row: the user is locked, and then even the right password
    // with a fresh code is refused.
    for (let i = 0; i < 4; i++) assert.equal(await submitLogin('wrong password guess', code()), 401);
    assert.equal(await submitLogin(cluster.console_password!, code(30_000)), 401);
    const reasons = auditEntries('ADMIN_LOGIN')
      .slice(-6)
      .map((e) => e.error_code);
    assert.deepEqual(reasons, ['BAD_TOTP', 'BAD_PASSWORD', 'BAD_PASSWORD', 'BAD_PASSWORD', 'BAD_PASSWORD', 'LOCKED']);
    assert.equal(new URL(page.url()).pathname, '/login');
  });
});

async function streamText(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
