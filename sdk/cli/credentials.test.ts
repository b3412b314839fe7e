import { test } from 'vitest';
import assert from 'node:assert/strict';
import { CliError, credentialsPath, loadCredentials, parseCredentials } from './credentials.ts';

test('credentials path: --credentials, else $CUSTOS_HOME/credentials.json, else ./.custos', () => {
  assert.equal(credentialsPath('my/creds.json', { CUSTOS_HOME: '/srv/custos' }, '/work'), '/work/my/creds.json');
  assert.equal(credentialsPath(undefined, { CUSTOS_HOME: '/srv/custos' }, '/work'), '/srv/custos/credentials.json');
  assert.equal(credentialsPath(undefined, { CUSTOS_HOME: 'home' }, '/work'), '/work/home/credentials.json');
  assert.equal(credentialsPath(undefined, {}, '/work'), '/work/.custos/credentials.json');
  assert.equal(credentialsPath(undefined, { CUSTOS_HOME: '' }, '/work'), '/work/.custos/credentials.json');
});

test('a valid file gives the three fields', () => {
  const creds = { base_url: 'http://127.0.0.1:8080', access_key: 'ak_1', secret_key: 'sk_1' };
  assert.deepEqual(parseCredentials(JSON.stringify(creds), '/c.json'), creds);
});

test('errors name the file and the faulty fields, and never quote the secret key', () => {
  const secret = 'sk_very_secret_value';
  const cases: [string, RegExp][] = [
    [`{"base_url": "http://x", "secret_key": "${secret}"`, /credentials file \/c\.json is not valid JSON$/],
    [`{"secret_key": "${secret}`, /is not valid JSON$/],
    [
      `{"base_url": "not a url", "access_key": "", "secret_key": "${secret}"}`,
      /\/c\.json is malformed \(base_url: .*; access_key: /,
    ],
    [`["${secret}"]`, /\/c\.json is malformed \(\(root\): /],
  ];
  for (const [text, pattern] of cases) {
    assert.throws(
      () => parseCredentials(text, '/c.json'),
      (err: unknown) => err instanceof CliError && pattern.test(err.message) && !err.message.includes(secret),
      text,
    );
  }
});

test('a missing file says where it was looked for and how to create it', () => {
  const missing = () => {
    throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
  };
  const denied = () => {
    throw Object.assign(new Error('EACCES'), { code: 'EACCES' });
  };
  assert.throws(() => loadCredentials('/nowhere/credentials.json', missing), {
    message:
      'credentials file /nowhere/credentials.json not found; run "make run" to create it, or pass --credentials FILE',
  });
  assert.throws(() => loadCredentials('/c.json', denied), { message: 'cannot read credentials file /c.json: EACCES' });
});
