/**
 * HSM unseal end to end: a real SoftHSM2 token, the real PKCS#11 sidecar process and a real node
 * process (docs/hsm.md). CUSTOS_RUNTIME=dist runs both from the compiled build.
 */
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, beforeAll, afterAll } from 'vitest';
import { pino } from 'pino';
import { ensureDevPki } from '../../common/pki/dev-pki.ts';
import { createGrpcCoordinator } from '../../gateway/coordinator/grpc-coordinator.ts';
import type { NodeHealth } from '../../gateway/coordinator/types.ts';
import { kekLabel } from '../../node/kek-sidecar/hsm.ts';
import { dekFilePath } from '../../node/storage/paths.ts';
import { fetchKekFromSocket } from '../../node/unseal/kek-socket.ts';
import { Proc, listeningPort, startNode, startSidecar } from './processes.ts';
import { SOFTHSM_MODULE, createKeys, initSoftHsmToken, keyValueReadable, type SoftHsmToken } from './softhsm.ts';

const NODE = 'tss1';
const TOKEN = 'custos-test';
const PIN = 'hsm-user-pin-4711';
const KEY = 'custos-kek';
// Known only to this test, which created the key from it; the token refuses to give it back.
const KEY_VALUE = new Uint8Array(randomBytes(32));

const root = mkdtempSync(join(tmpdir(), 'custos-hsm-'));
const home = join(root, 'home');
const run = join(root, 'run');
const socket = join(run, 'kek.sock');
let token: SoftHsmToken;
const started: Proc[] = [];

beforeAll(async () => {
  token = initSoftHsmToken(join(root, 'hsm'), TOKEN, PIN);
  createKeys(token, [
    { label: KEY, kind: 'hmac', value: KEY_VALUE, extractable: false },
    { label: 'extractable', kind: 'hmac', value: randomBytes(32), extractable: true },
    { label: 'aes', kind: 'aes' },
  ]);
  mkdirSync(run, { mode: 0o700 });
  writeFileSync(join(run, 'pin'), `${PIN}\n`, { mode: 0o600 });
  writeFileSync(join(run, 'wrong-pin'), 'not-the-pin\n', { mode: 0o600 });
  await ensureDevPki(home, [NODE]);
});
afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()));
  rmSync(root, { recursive: true, force: true });
});

function sidecar(overrides: Record<string, string> = {}): Proc {
  const proc = startSidecar({
    SOFTHSM2_CONF: token.conf,
    CUSTOS_NODE_ID: NODE,
    CUSTOS_PKCS11_MODULE: SOFTHSM_MODULE,
    CUSTOS_PKCS11_TOKEN_LABEL: TOKEN,
    CUSTOS_PKCS11_KEY_LABEL: KEY,
    CUSTOS_PKCS11_PIN_FILE: join(run, 'pin'),
    CUSTOS_KEK_SOCKET: socket,
    ...overrides,
  });
  started.push(proc);
  return proc;
}

function node(waitSeconds: number): Proc {
  const proc = startNode({
    CUSTOS_NODE_ID: NODE,
    CUSTOS_HOME: home,
    CUSTOS_LISTEN: '127.0.0.1:0',
    CUSTOS_KEK_SOCKET: socket,
    CUSTOS_KEK_WAIT_SECONDS: String(waitSeconds),
    CUSTOS_GG18_POOL_SIZE: '0',
  });
  started.push(proc);
  return proc;
}

/** The node's own view of itself over gRPC Health, dialled with the gateway's dev certificate. */
async function health(port: number): Promise<NodeHealth> {
  const coordinator = createGrpcCoordinator({
    home,
    nodes: [{ id: NODE, address: `127.0.0.1:${port}` }],
    logger: pino({ level: 'silent' }),
    schemes: new Map(),
    healthTtlMs: 0,
  });
  try {
    const [view] = await coordinator.health();
    return view!;
  } finally {
    await coordinator.close();
  }
}

/** Every regular file under `dir`, by path, as bytes. */
function snapshot(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const entry of readdirSync(dir, { recursive: true })) {
    const path = join(dir, String(entry));
    if (statSync(path).isFile()) files.set(path, readFileSync(path));
  }
  return files;
}

async function sidecarFails(proc: Proc, code: string): Promise<void> {
  assert.equal(await proc.exited, 2, proc.output);
  assert.match(proc.output, new RegExp(`kek-sidecar: ${code}: `));
  assert.ok(!proc.output.includes(PIN), 'the PIN is never printed');
}

describe('HSM unseal through the PKCS#11 sidecar', () => {
  let firstDek: Buffer;

  test('the HSM key is sensitive: the token will not hand out its value', () => {
    assert.equal(keyValueReadable(token, KEY), false);
    assert.equal(keyValueReadable(token, 'extractable'), true);
  });

  test('a node started before its sidecar waits sealed, then unseals with the HSM KEK', async () => {
    const n = node(600);
    const port = await listeningPort(n);
    await n.waitFor(/waiting for the PKCS#11 sidecar/);
    assert.deepEqual((({ reachable, sealed }) => ({ reachable, sealed }))(await health(port)), {
      reachable: true,
      sealed: true,
    });
    const s = sidecar();
    await s.waitFor(/serving the KEK/);
    assert.equal(statSync(socket).mode & 0o777, 0o600);
    await n.waitFor(/unsealed, serving sessions/);
    assert.equal((await health(port)).sealed, false);

    // The KEK is HMAC-SHA-256 over the versioned, node-bound label, computed inside the token.
    const kek = await fetchKekFromSocket({ socket, nodeId: NODE, waitMs: 0 });
    assert.deepEqual(Buffer.from(kek), createHmac('sha256', KEY_VALUE).update(kekLabel(NODE)).digest());
    assert.equal(kekLabel(NODE).toString(), 'custos-kek-v1|tss1');

    firstDek = readFileSync(dekFilePath(home, NODE));
    assert.equal((JSON.parse(firstDek.toString()) as { body: { kdf: { name: string } } }).body.kdf.name, 'external');
    // The KEK is nowhere on disk: not in the home dir, the socket dir or the token, in any encoding.
    const encodings = [
      Buffer.from(kek),
      Buffer.from(Buffer.from(kek).toString('hex')),
      Buffer.from(Buffer.from(kek).toString('base64')),
    ];
    for (const [path, bytes] of [...snapshot(home), ...snapshot(run), ...snapshot(join(root, 'hsm'))]) {
      for (const encoded of encodings) assert.ok(!bytes.includes(encoded), `the KEK is in ${path}`);
    }
    for (const proc of [n, s]) {
      for (const encoded of encodings) assert.ok(!proc.output.includes(encoded.toString('latin1')), 'KEK logged');
      assert.ok(!proc.output.includes(PIN), `${proc.name} logged the PIN`);
    }
    kek.fill(0);
    await Promise.all([n.stop(), s.stop()]);
  });

  test('a restart of both unseals again with the same DEK file', async () => {
    const s = sidecar();
    await s.waitFor(/serving the KEK/);
    const n = node(600);
    const port = await listeningPort(n);
    await n.waitFor(/unsealed, serving sessions/);
    assert.equal((await health(port)).sealed, false);
    assert.deepEqual(readFileSync(dekFilePath(home, NODE)), firstDek, 'the DEK file was reused, not replaced');
    await Promise.all([n.stop(), s.stop()]);
  });

  const failures: [string, Record<string, string>, string][] = [
    ['a wrong PIN', { CUSTOS_PKCS11_PIN_FILE: join(run, 'wrong-pin') }, 'PIN_INCORRECT'],
    ['a missing key label', { CUSTOS_PKCS11_KEY_LABEL: 'no-such-key' }, 'KEY_NOT_FOUND'],
    ['an unknown token', { CUSTOS_PKCS11_TOKEN_LABEL: 'no-such-token' }, 'TOKEN_NOT_FOUND'],
    ['a module that cannot be loaded', { CUSTOS_PKCS11_MODULE: join(root, 'missing.so') }, 'MODULE_UNLOADABLE'],
    ['an extractable key', { CUSTOS_PKCS11_KEY_LABEL: 'extractable' }, 'KEY_EXTRACTABLE'],
    ['a key the HMAC mechanism cannot use', { CUSTOS_PKCS11_KEY_LABEL: 'aes' }, 'MECHANISM_UNSUPPORTED'],
  ];
  for (const [what, overrides, code] of failures) {
    test(`${what}: the sidecar stops with ${code}, the node stays sealed, nothing on disk changes`, async () => {
      const before = snapshot(home);
      const n = node(600);
      const port = await listeningPort(n);
      const s = sidecar(overrides);
      await sidecarFails(s, code);
      await n.waitFor(/waiting for the PKCS#11 sidecar/);
      const seen = await health(port);
      assert.deepEqual([seen.reachable, seen.sealed], [true, true]);
      await n.stop();
      assert.ok(!n.output.includes('unsealed, serving sessions'));
      assert.deepEqual(snapshot(home), before);
    });
  }

  test('a sidecar serving another node id is refused at once; the node stops sealed', async () => {
    const before = snapshot(home);
    const s = sidecar({ CUSTOS_NODE_ID: 'tss2' });
    try {
      await s.waitFor(/serving the KEK/);
      const n = node(600);
      assert.equal(await n.exited, 2, n.output);
      assert.match(n.output, /tss-node: REFUSED: the KEK sidecar refused: this sidecar serves node tss2, not tss1/);
      assert.match(s.output, /refused a KEK request for another node/);
      assert.deepEqual(snapshot(home), before);
    } finally {
      await s.stop();
    }
  });

  test('with no sidecar at all the node gives up after its bounded wait, sealed', async () => {
    const before = snapshot(home);
    const n = node(0);
    assert.equal(await n.exited, 2, n.output);
    assert.match(n.output, /tss-node: UNAVAILABLE: no KEK sidecar answered on .*kek\.sock/);
    assert.deepEqual(snapshot(home), before);
  });
});
