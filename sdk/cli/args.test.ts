import { test } from 'vitest';
import assert from 'node:assert/strict';
import { UsageError, parseInvocation } from './args.ts';

const KEY = 'key_0123456789abcdef0123456789abcdef';
const noFiles = (path: string): string => {
  throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
};
const parse = (line: string, readText = noFiles) => parseInvocation(line.split(' ').filter(Boolean), readText);
const usageError = (line: string, pattern: RegExp) =>
  assert.throws(
    () => parse(line),
    (err: unknown) => err instanceof UsageError && pattern.test(err.message),
    line,
  );

test('keys generate: the curve follows the algorithm, so --algo EDDSA alone works', () => {
  assert.deepEqual(parse('keys generate --algo EDDSA').command, {
    kind: 'generate',
    request: { format: { type: 'ECC', curve: 'ED25519', algo_type: 'EDDSA', size: 32 } },
  });
  assert.deepEqual(parse('keys generate --algo bls').command, {
    kind: 'generate',
    request: { format: { type: 'ECC', curve: 'BLS12_381', algo_type: 'BLS', size: 32 } },
  });
  assert.deepEqual(parse('keys generate').command, {
    kind: 'generate',
    request: { format: { type: 'ECC', curve: 'SECP256K1', algo_type: 'GG18', size: 32 } },
  });
});

test('keys generate: shards, threshold, label, idempotency key, and an algorithm from a lone --curve', () => {
  assert.deepEqual(
    parse('keys generate --curve ED25519 --shards 4 --threshold 3 --label ops/hot --idempotency-key k-1').command,
    {
      kind: 'generate',
      request: {
        format: { type: 'ECC', curve: 'ED25519', algo_type: 'EDDSA', size: 32 },
        shard_properties: { shard_count: 4, threshold: 3 },
        label: 'ops/hot',
      },
      idempotencyKey: 'k-1',
    },
  );
});

test('keys generate refuses unknown algorithms, mismatched curves and non-integer counts', () => {
  usageError('keys generate --algo RSA', /--algo must be one of GG18, DMZ21, DKLS23, EDDSA, BLS/);
  usageError('keys generate --algo EDDSA --curve SECP256K1', /EDDSA runs on ED25519, not SECP256K1/);
  usageError('keys generate --shards three', /--shards must be a positive integer/);
  usageError('keys generate --threshold 0', /--threshold must be a positive integer/);
  usageError('keys generate extra', /takes 0 argument/);
});

test('keys get and keys status take a key id; status takes the new status and a reason', () => {
  assert.deepEqual(parse(`keys get ${KEY}`).command, { kind: 'get', keyId: KEY });
  assert.deepEqual(parseInvocation(['keys', 'status', KEY, 'frozen', '--reason', 'incident 7'], noFiles).command, {
    kind: 'status',
    keyId: KEY,
    request: { status: 'FROZEN', reason: 'incident 7' },
  });
  usageError('keys get key_123', /not a key id/);
  usageError('keys get', /takes 1 argument/);
  usageError(`keys status ${KEY} DELETED`, /status must be one of ACTIVE, FROZEN, ARCHIVED/);
});

test('keys list maps its flags to the query; --all excludes --cursor', () => {
  assert.deepEqual(parse('keys list --limit 50 --label ops --status ARCHIVED --cursor c1').command, {
    kind: 'list',
    all: false,
    query: { limit: 50, label: 'ops', status: 'ARCHIVED', cursor: 'c1' },
  });
  assert.deepEqual(parse('keys list --all').command, { kind: 'list', all: true, query: {} });
  usageError('keys list --all --cursor c1', /--all starts from the first page/);
  usageError('keys list --limit 0', /--limit must be a positive integer/);
  usageError('keys list --limit', /argument missing/);
});

test('keys sign: hex data, EIP191 text with --encoding utf8, EIP712 typed data inline or from a file', () => {
  assert.deepEqual(parse(`keys sign ${KEY} --type RAW --data 0xdeadbeef`).command, {
    kind: 'sign',
    keyId: KEY,
    request: { data: '0xdeadbeef', data_type: 'RAW' },
  });
  assert.deepEqual(
    parseInvocation(['keys', 'sign', KEY, '--type', 'eip191', '--encoding', 'utf8', '--data', 'héllo world'], noFiles)
      .command,
    {
      kind: 'sign',
      keyId: KEY,
      request: { data: 'héllo world', data_type: 'EIP191', encoding: 'utf8' },
    },
  );
  const typed = { domain: { name: 'Custos' }, primaryType: 'Mail', types: {}, message: {} };
  const files = (path: string) => {
    assert.equal(path, 'typed.json');
    return JSON.stringify(typed);
  };
  assert.deepEqual(parse(`keys sign ${KEY} --type EIP712 --data-file typed.json`, files).command, {
    kind: 'sign',
    keyId: KEY,
    request: { data: typed, data_type: 'EIP712' },
  });
  assert.deepEqual(parseInvocation(['keys', 'sign', KEY, '--type', 'EIP712', '--data', '{"a":1}'], noFiles).command, {
    kind: 'sign',
    keyId: KEY,
    request: { data: { a: 1 }, data_type: 'EIP712' },
  });
});

test('keys sign refuses what the gateway would refuse, before any request', () => {
  usageError(`keys sign ${KEY} --data 0x00`, /needs --type/);
  usageError(`keys sign ${KEY} --type HASH`, /exactly one of --data and --data-file/);
  usageError(`keys sign ${KEY} --type HASH --data 0xabc`, /0x-prefixed hex bytes/);
  usageError(`keys sign ${KEY} --type HASH --data hello`, /0x-prefixed hex bytes/);
  usageError(`keys sign ${KEY} --type RAW --data 0x00 --encoding utf8`, /--encoding applies to EIP191 only/);
  usageError(`keys sign ${KEY} --type EIP191 --data 0x00 --encoding latin1`, /--encoding must be one of hex, utf8/);
  usageError(`keys sign ${KEY} --type RAW --data-file x.json`, /--data-file is for EIP712/);
  usageError(`keys sign ${KEY} --type EIP712 --data-file missing.json`, /cannot read --data-file missing.json: ENOENT/);
  usageError(`keys sign ${KEY} --type EIP712 --data [1]`, /must be a JSON object/);
  usageError(`keys sign ${KEY} --type SHA3 --data 0x00`, /--type must be one of HASH, EIP191, EIP712, RAW/);
});

test('global flags anywhere; unknown commands and flags of another command are usage errors', () => {
  assert.deepEqual(parse('--credentials /tmp/c.json ready --base-url http://127.0.0.1:8080'), {
    command: { kind: 'ready' },
    credentialsPath: '/tmp/c.json',
    baseUrl: 'http://127.0.0.1:8080',
  });
  assert.deepEqual(parse('').command, { kind: 'help' });
  assert.deepEqual(parse('keys list -h').command, { kind: 'help' });
  usageError('keys explode', /unknown command "keys explode"/);
  usageError('keys', /unknown command "keys"/);
  usageError('keys get --limit 3', /--limit does not apply to "keys get"/);
  usageError('ready --frobnicate', /Unknown option '--frobnicate'/);
  usageError('ready --base-url not-a-url', /--base-url not-a-url is not a URL/);
});

test('keys refresh takes a key id; operations get takes an operation id', () => {
  assert.deepEqual(parseInvocation(['keys', 'refresh', KEY], noFiles).command, { kind: 'refresh', keyId: KEY });
  const op = `op_${'c'.repeat(32)}`;
  assert.deepEqual(parseInvocation(['operations', 'get', op], noFiles).command, { kind: 'operation', operationId: op });
  usageError('operations get op_1', /op_<32 hex digits>/);
  usageError(`keys refresh ${KEY} extra`, /./);
});

test('backup: create and list take nothing; verify and restore need the stores and the recovery identity', () => {
  assert.deepEqual(parse('backup create').command, { kind: 'backup-create' });
  assert.deepEqual(parse('backup list').command, { kind: 'backup-list' });
  assert.deepEqual(parse('backup verify --targets t.json --identity r.key --location dr').command, {
    kind: 'backup-verify',
    source: { targets: 't.json', identity: 'r.key', location: 'dr' },
  });
  assert.deepEqual(
    parse('backup restore 20261201T034000Z-1a2b3c4d --node tss2 --targets t.json --identity r.key --home /h').command,
    {
      kind: 'backup-restore',
      setId: '20261201T034000Z-1a2b3c4d',
      target: { nodeId: 'tss2' },
      source: { targets: 't.json', identity: 'r.key', location: 'primary', home: '/h' },
    },
  );
  assert.deepEqual(parse('backup restore --gateway --targets t --identity i').command, {
    kind: 'backup-restore',
    target: { gateway: true },
    source: { targets: 't', identity: 'i', location: 'primary' },
  });
  usageError('backup verify --identity r.key', /needs --targets/);
  usageError('backup verify --targets t.json', /needs --identity/);
  usageError('backup verify ../etc --targets t --identity i', /not a backup set id/);
  usageError('backup restore --targets t --identity i', /needs --node ID/);
  usageError('backup restore --node TSS2 --targets t --identity i', /needs --node ID/);
  usageError('backup restore --node tss2 --gateway --targets t --identity i', /not both/);
  usageError('backup verify --targets t --identity i --location moon', /--location must be one of primary, dr/);
  usageError('backup create --node tss2', /--node does not apply to "backup create"/);
});
