import assert from 'node:assert/strict';
import { createHash, randomBytes, webcrypto } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, afterAll } from 'vitest';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { scrypt } from '@noble/hashes/scrypt.js';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  UnsealError,
  createDekFile,
  createDekFileWithKek,
  openDekFile,
  openDekFileWithKek,
  unsealOrInit,
  unsealOrInitWithKek,
  type KdfSettings,
  type UnsealErrorCode,
} from './dek-file.ts';

const FAST: { kdf: KdfSettings; allowWeakKdf: true } = {
  kdf: { name: 'scrypt', N: 2 ** 10, r: 8, p: 1 },
  allowWeakKdf: true,
};
const password = (s: string) => new TextEncoder().encode(s);
const PASSWORD = password('correct horse battery staple');

const roots: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'custos-dek-'));
  roots.push(dir);
  return dir;
}
afterAll(() => roots.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

async function rejectsWith(promise: Promise<unknown>, code: UnsealErrorCode): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof UnsealError, `expected UnsealError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

interface DekFileJson {
  sha256: string;
  body: {
    node_id: string;
    kdf: Record<string, string | number>;
    verifier: string;
    wrapped_dek: { nonce: string; ciphertext: string };
  };
}

/** Rewrites a DEK file from its JSON; `checksum` false keeps the old (now stale) checksum. */
function writeDekJson(path: string, json: DekFileJson, checksum: boolean): void {
  const body = JSON.stringify(json.body);
  const sum = checksum ? createHash('sha256').update(body).digest('hex') : json.sha256;
  writeFileSync(path, `{"sha256":"${sum}","body":${body}}\n`);
}

function flipBase64(value: string): string {
  const bytes = Buffer.from(value, 'base64');
  bytes[0] = (bytes[0] as number) ^ 0x01;
  return bytes.toString('base64');
}

/** encodeFields re-implemented from its description, as an independent check of the format. */
function lengthPrefixed(fields: (string | Uint8Array)[]): Uint8Array {
  return Buffer.concat(
    fields.map((f) => {
      const bytes = typeof f === 'string' ? Buffer.from(f) : Buffer.from(f);
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      return Buffer.concat([length, bytes]);
    }),
  );
}

describe('DEK file', () => {
  test('production defaults: scrypt N=2^17 r=8 p=1, 0600, opens only with the right password', async () => {
    const path = join(tempDir(), 'certs/tss1/tss1.dek');
    const dek = await createDekFile(path, 'tss1', PASSWORD);
    assert.equal(dek.length, 32);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const json = JSON.parse(readFileSync(path, 'utf8')) as DekFileJson;
    assert.deepEqual({ ...json.body.kdf, salt: undefined }, { name: 'scrypt', N: 131072, r: 8, p: 1, salt: undefined });
    assert.equal(Buffer.from(json.body.kdf.salt as string, 'base64').length, 16);
    assert.deepEqual(await openDekFile(path, 'tss1', PASSWORD), dek);
    const before = readFileSync(path);
    await rejectsWith(openDekFile(path, 'tss1', password('correct horse battery stapler')), 'WRONG_PASSWORD');
    assert.deepEqual(readFileSync(path), before);
  });

  test('PBKDF2-SHA-256 with 600,000 iterations is also accepted', async () => {
    const path = join(tempDir(), 'tss2.dek');
    const dek = await createDekFile(path, 'tss2', PASSWORD, { kdf: { name: 'pbkdf2-sha256', iterations: 600_000 } });
    assert.deepEqual(await openDekFile(path, 'tss2', PASSWORD), dek);
    await rejectsWith(openDekFile(path, 'tss2', password('nope')), 'WRONG_PASSWORD');
  });

  test('weak KDF costs are refused unless explicitly allowed', async () => {
    const dir = tempDir();
    await rejectsWith(createDekFile(join(dir, 'a.dek'), 'tss1', PASSWORD, { kdf: FAST.kdf }), 'INVALID_ARGUMENT');
    await rejectsWith(
      createDekFile(join(dir, 'b.dek'), 'tss1', PASSWORD, { kdf: { name: 'pbkdf2-sha256', iterations: 599_999 } }),
      'INVALID_ARGUMENT',
    );
    await rejectsWith(
      createDekFile(join(dir, 'c.dek'), 'tss1', PASSWORD, { kdf: { name: 'scrypt', N: 2 ** 21, r: 8, p: 1 } }),
      'INVALID_ARGUMENT',
    );
    assert.deepEqual(readdirSync(dir), []);
    await createDekFile(join(dir, 'weak.dek'), 'tss1', PASSWORD, FAST);
    await rejectsWith(openDekFile(join(dir, 'weak.dek'), 'tss1', PASSWORD), 'MALFORMED');
    assert.equal((await openDekFile(join(dir, 'weak.dek'), 'tss1', PASSWORD, FAST)).length, 32);
  });

  test('the format matches its documentation (re-derived with @noble/hashes and WebCrypto)', async () => {
    const path = join(tempDir(), 'tss3.dek');
    const dek = await createDekFile(path, 'tss3', PASSWORD, FAST);
    const text = readFileSync(path, 'utf8');
    const json = JSON.parse(text) as DekFileJson;
    const bodyText = text.slice(text.indexOf('"body":') + 7, text.lastIndexOf('}'));
    assert.equal(createHash('sha256').update(bodyText).digest('hex'), json.sha256);
    const salt = Buffer.from(json.body.kdf.salt as string, 'base64');
    const master = scrypt(PASSWORD, salt, { N: 2 ** 10, r: 8, p: 1, dkLen: 32 });
    const kek = hkdf(sha256, master, salt, Buffer.from('custos dek kek v1'), 32);
    const verifierKey = hkdf(sha256, master, salt, Buffer.from('custos dek verifier v1'), 32);
    const header = ['custos-dek', '1', 'tss3', 'scrypt', '1024', '8', '1', salt];
    const verifier = hmac(sha256, verifierKey, lengthPrefixed(['custos-dek-verifier', ...header]));
    assert.equal(Buffer.from(verifier).toString('base64'), json.body.verifier);
    const key = await webcrypto.subtle.importKey('raw', kek, 'AES-GCM', false, ['decrypt']);
    const plain = await webcrypto.subtle.decrypt(
      {
        name: 'AES-GCM',
        iv: Buffer.from(json.body.wrapped_dek.nonce, 'base64'),
        additionalData: lengthPrefixed(['custos-dek-wrap', ...header]),
      },
      key,
      Buffer.from(json.body.wrapped_dek.ciphertext, 'base64'),
    );
    assert.deepEqual(new Uint8Array(plain), dek);
  });

  test('a flipped bit in any field is TAMPERED, and nothing on disk changes', async () => {
    const path = join(tempDir(), 'tss1.dek');
    await createDekFile(path, 'tss1', PASSWORD, FAST);
    const original = readFileSync(path);
    const edits: [string, (j: DekFileJson) => void][] = [
      ['node_id', (j) => void (j.body.node_id = 'tss9')],
      ['kdf.N', (j) => void (j.body.kdf.N = 2048)],
      ['kdf.r', (j) => void (j.body.kdf.r = 9)],
      ['kdf.salt', (j) => void (j.body.kdf.salt = flipBase64(j.body.kdf.salt as string))],
      ['verifier', (j) => void (j.body.verifier = flipBase64(j.body.verifier))],
      ['nonce', (j) => void (j.body.wrapped_dek.nonce = flipBase64(j.body.wrapped_dek.nonce))],
      ['ciphertext', (j) => void (j.body.wrapped_dek.ciphertext = flipBase64(j.body.wrapped_dek.ciphertext))],
      ['sha256', (j) => void (j.sha256 = (j.sha256[0] === 'a' ? 'b' : 'a') + j.sha256.slice(1))],
    ];
    for (const [field, edit] of edits) {
      const json = JSON.parse(original.toString()) as DekFileJson;
      edit(json);
      writeDekJson(path, json, false);
      const tamperedBytes = readFileSync(path);
      await rejectsWith(openDekFile(path, 'tss1', PASSWORD, FAST), 'TAMPERED').catch((err: Error) => {
        throw new Error(`${field}: ${err.message}`);
      });
      assert.deepEqual(readFileSync(path), tamperedBytes, `${field}: file unchanged`);
    }
  });

  test('edits that recompute the checksum still never yield a DEK', async () => {
    const path = join(tempDir(), 'tss1.dek');
    await createDekFile(path, 'tss1', PASSWORD, FAST);
    const original = readFileSync(path, 'utf8');
    const cases: [(j: DekFileJson) => void, UnsealErrorCode, string][] = [
      // The AEAD binds the wrap; the password-derived verifier vouches for salt, params and itself.
      [(j) => void (j.body.wrapped_dek.nonce = flipBase64(j.body.wrapped_dek.nonce)), 'TAMPERED', 'tss1'],
      [(j) => void (j.body.wrapped_dek.ciphertext = flipBase64(j.body.wrapped_dek.ciphertext)), 'TAMPERED', 'tss1'],
      [(j) => void (j.body.kdf.salt = flipBase64(j.body.kdf.salt as string)), 'WRONG_PASSWORD', 'tss1'],
      [(j) => void (j.body.kdf.N = 2048), 'WRONG_PASSWORD', 'tss1'],
      [(j) => void (j.body.verifier = flipBase64(j.body.verifier)), 'WRONG_PASSWORD', 'tss1'],
      [(j) => void (j.body.node_id = 'tss2'), 'NODE_MISMATCH', 'tss1'],
      [(j) => void (j.body.node_id = 'tss2'), 'WRONG_PASSWORD', 'tss2'],
    ];
    for (const [edit, code, openAs] of cases) {
      const json = JSON.parse(original) as DekFileJson;
      edit(json);
      writeDekJson(path, json, true);
      await rejectsWith(openDekFile(path, openAs, PASSWORD, FAST), code);
    }
  });

  test('every single-byte corruption of the file is refused as TAMPERED or MALFORMED', async () => {
    const path = join(tempDir(), 'tss1.dek');
    await createDekFile(path, 'tss1', PASSWORD, FAST);
    const original = readFileSync(path);
    for (let i = 0; i < original.length; i++) {
      const corrupt = Buffer.from(original);
      corrupt[i] = (corrupt[i] as number) ^ 0x04;
      writeFileSync(path, corrupt);
      const result = await openDekFile(path, 'tss1', PASSWORD, FAST).then(
        () => ({ code: 'OPENED' }),
        (err: UnsealError) => ({ code: err.code }),
      );
      assert.ok(['TAMPERED', 'MALFORMED'].includes(result.code), `byte ${i}: ${result.code}`);
    }
  });

  test('wrong node, missing, malformed and existing files are distinct errors', async () => {
    const dir = tempDir();
    const path = join(dir, 'tss1.dek');
    await createDekFile(path, 'tss1', PASSWORD, FAST);
    const before = readFileSync(path);
    await rejectsWith(openDekFile(path, 'tss2', PASSWORD, FAST), 'NODE_MISMATCH');
    await rejectsWith(openDekFile(join(dir, 'absent.dek'), 'tss1', PASSWORD, FAST), 'MISSING');
    await rejectsWith(createDekFile(path, 'tss1', PASSWORD, FAST), 'EXISTS');
    assert.deepEqual(readFileSync(path), before);
    await rejectsWith(createDekFile(join(dir, 'x.dek'), 'tss1', new Uint8Array(), FAST), 'INVALID_ARGUMENT');
    await rejectsWith(createDekFile(join(dir, 'x.dek'), '../tss1', PASSWORD, FAST), 'INVALID_ARGUMENT');
    for (const content of ['', 'garbage', '{}', '{"sha256":"00","body":{}}', Buffer.alloc(70_000, 0x20)]) {
      writeFileSync(join(dir, 'bad.dek'), content);
      await rejectsWith(openDekFile(join(dir, 'bad.dek'), 'tss1', PASSWORD, FAST), 'MALFORMED');
    }
    // A consistent file with an unknown version is malformed, not tampered.
    const json = JSON.parse(before.toString()) as DekFileJson & { body: { version: number } };
    json.body.version = 2;
    writeDekJson(join(dir, 'v2.dek'), json, true);
    await rejectsWith(openDekFile(join(dir, 'v2.dek'), 'tss1', PASSWORD, FAST), 'MALFORMED');
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.endsWith('.tmp')),
      [],
      'no temporary files left behind',
    );
  });

  test('unsealOrInit creates on first start, opens afterwards, and never replaces', async () => {
    const home = tempDir();
    const path = join(home, 'certs/tss4/tss4.dek');
    const dataDir = join(home, 'data/leveldb_tss4');
    const first = await unsealOrInit(path, 'tss4', PASSWORD, { ...FAST, dataDir });
    const bytes = readFileSync(path);
    assert.deepEqual(await unsealOrInit(path, 'tss4', PASSWORD, { ...FAST, dataDir }), first);
    await rejectsWith(unsealOrInit(path, 'tss4', password('wrong'), { ...FAST, dataDir }), 'WRONG_PASSWORD');
    await rejectsWith(unsealOrInit(path, 'tss3', PASSWORD, { ...FAST, dataDir }), 'NODE_MISMATCH');
    assert.deepEqual(readFileSync(path), bytes);

    // A lost DEK file must not be silently replaced while encrypted data still exists.
    const otherPath = join(home, 'certs/tss5/tss5.dek');
    const otherData = join(home, 'data/leveldb_tss5');
    mkdirSync(otherData, { recursive: true });
    writeFileSync(join(otherData, 'CURRENT'), 'MANIFEST-000001\n');
    await rejectsWith(unsealOrInit(otherPath, 'tss5', PASSWORD, { ...FAST, dataDir: otherData }), 'MISSING');
    assert.equal(existsSync(otherPath), false);
  });
});

describe('DEK file sealed by an HSM KEK', () => {
  const KEK = new Uint8Array(randomBytes(32));

  test('records an external KEK, opens only with that KEK, and matches the documented format', async () => {
    const path = join(tempDir(), 'tss1.dek');
    const dek = await createDekFileWithKek(path, 'tss1', KEK);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const json = JSON.parse(readFileSync(path, 'utf8')) as DekFileJson;
    assert.deepEqual(Object.keys(json.body.kdf).sort(), ['name', 'salt']);
    assert.equal(json.body.kdf.name, 'external');
    assert.deepEqual(await openDekFileWithKek(path, 'tss1', KEK), dek);
    // Independent re-derivation: HKDF straight from the KEK, no password KDF in between.
    const salt = Buffer.from(json.body.kdf.salt as string, 'base64');
    const wrapKey = hkdf(sha256, KEK, salt, Buffer.from('custos dek kek v1'), 32);
    const header = ['custos-dek', '1', 'tss1', 'external', salt];
    const key = await webcrypto.subtle.importKey('raw', wrapKey, 'AES-GCM', false, ['decrypt']);
    const plain = await webcrypto.subtle.decrypt(
      {
        name: 'AES-GCM',
        iv: Buffer.from(json.body.wrapped_dek.nonce, 'base64'),
        additionalData: lengthPrefixed(['custos-dek-wrap', ...header]),
      },
      key,
      Buffer.from(json.body.wrapped_dek.ciphertext, 'base64'),
    );
    assert.deepEqual(new Uint8Array(plain), dek);
    assert.ok(!readFileSync(path).includes(Buffer.from(KEK)), 'the KEK is not in the file');
  });

  test('a wrong KEK is WRONG_KEK and a KEK of the wrong size is refused; nothing changes on disk', async () => {
    const path = join(tempDir(), 'tss1.dek');
    await createDekFileWithKek(path, 'tss1', KEK);
    const before = readFileSync(path);
    const other = Uint8Array.from(KEK);
    other[31] = (other[31] as number) ^ 0x01;
    await rejectsWith(openDekFileWithKek(path, 'tss1', other), 'WRONG_KEK');
    await rejectsWith(unsealOrInitWithKek(path, 'tss1', other), 'WRONG_KEK');
    await rejectsWith(openDekFileWithKek(path, 'tss1', KEK.subarray(0, 16)), 'INVALID_ARGUMENT');
    await rejectsWith(createDekFileWithKek(join(tempDir(), 'x.dek'), 'tss1', new Uint8Array(33)), 'INVALID_ARGUMENT');
    await rejectsWith(openDekFileWithKek(path, 'tss2', KEK), 'NODE_MISMATCH');
    assert.deepEqual(readFileSync(path), before);
  });

  test('a password file refuses a KEK and an HSM file refuses a password (WRONG_KIND)', async () => {
    const dir = tempDir();
    await createDekFile(join(dir, 'password.dek'), 'tss1', PASSWORD, FAST);
    await createDekFileWithKek(join(dir, 'hsm.dek'), 'tss1', KEK);
    const before = readdirSync(dir).map((f) => readFileSync(join(dir, f)));
    await rejectsWith(openDekFileWithKek(join(dir, 'password.dek'), 'tss1', KEK), 'WRONG_KIND');
    await rejectsWith(unsealOrInitWithKek(join(dir, 'password.dek'), 'tss1', KEK), 'WRONG_KIND');
    await rejectsWith(openDekFile(join(dir, 'hsm.dek'), 'tss1', KEK, FAST), 'WRONG_KIND');
    await rejectsWith(unsealOrInit(join(dir, 'hsm.dek'), 'tss1', PASSWORD, FAST), 'WRONG_KIND');
    // Relabelling the kind with a fresh checksum does not help either way: the header binds the kind.
    const json = JSON.parse(readFileSync(join(dir, 'hsm.dek'), 'utf8')) as DekFileJson;
    json.body.kdf = { name: 'pbkdf2-sha256', iterations: 1000, salt: json.body.kdf.salt as string };
    writeDekJson(join(dir, 'relabelled.dek'), json, true);
    await rejectsWith(openDekFile(join(dir, 'relabelled.dek'), 'tss1', KEK, FAST), 'WRONG_PASSWORD');
    assert.deepEqual(
      ['hsm.dek', 'password.dek'].map((f) => readFileSync(join(dir, f))),
      before,
    );
  });

  test('tampering is TAMPERED with a stale checksum, and never yields a DEK with a fresh one', async () => {
    const path = join(tempDir(), 'tss1.dek');
    await createDekFileWithKek(path, 'tss1', KEK);
    const original = readFileSync(path, 'utf8');
    const cases: [(j: DekFileJson) => void, boolean, UnsealErrorCode][] = [
      [(j) => void (j.body.wrapped_dek.ciphertext = flipBase64(j.body.wrapped_dek.ciphertext)), false, 'TAMPERED'],
      [(j) => void (j.body.kdf.salt = flipBase64(j.body.kdf.salt as string)), false, 'TAMPERED'],
      [(j) => void (j.body.wrapped_dek.nonce = flipBase64(j.body.wrapped_dek.nonce)), true, 'TAMPERED'],
      [(j) => void (j.body.wrapped_dek.ciphertext = flipBase64(j.body.wrapped_dek.ciphertext)), true, 'TAMPERED'],
      [(j) => void (j.body.kdf.salt = flipBase64(j.body.kdf.salt as string)), true, 'WRONG_KEK'],
      [(j) => void (j.body.verifier = flipBase64(j.body.verifier)), true, 'WRONG_KEK'],
      [(j) => void (j.body.kdf.extra = 1), true, 'MALFORMED'],
    ];
    for (const [edit, checksum, code] of cases) {
      const json = JSON.parse(original) as DekFileJson;
      edit(json);
      writeDekJson(path, json, checksum);
      await rejectsWith(openDekFileWithKek(path, 'tss1', KEK), code);
    }
  });

  test('unsealOrInitWithKek creates on first start, opens afterwards, and never replaces', async () => {
    const home = tempDir();
    const path = join(home, 'certs/tss4/tss4.dek');
    const dataDir = join(home, 'data/leveldb_tss4');
    const first = await unsealOrInitWithKek(path, 'tss4', KEK, { dataDir });
    const bytes = readFileSync(path);
    assert.deepEqual(await unsealOrInitWithKek(path, 'tss4', KEK, { dataDir }), first);
    assert.deepEqual(readFileSync(path), bytes);
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'CURRENT'), 'MANIFEST-000001\n');
    await rejectsWith(unsealOrInitWithKek(join(home, 'lost.dek'), 'tss4', KEK, { dataDir }), 'MISSING');
    assert.equal(existsSync(join(home, 'lost.dek')), false);
  });
});
