import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, afterAll } from 'vitest';
import { pino } from 'pino';
import { KekSocketError, fetchKekFromSocket, type KekSocketErrorCode } from '../unseal/kek-socket.ts';
import { KekStatus, decodeKekResponse } from './protocol.ts';
import { serveKek } from './server.ts';

const dir = mkdtempSync(join(tmpdir(), 'custos-kek-sock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const log = pino({ level: 'silent' });
const KEK = new Uint8Array(randomBytes(32));
let n = 0;
const socketPath = () => join(dir, `kek-${n++}.sock`);

async function rejectsWith(promise: Promise<unknown>, code: KekSocketErrorCode, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof KekSocketError, String(err));
    assert.equal(err.code, code, err.message);
    assert.match(err.message, pattern);
    return true;
  });
}

const closeServer = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

/** Sends raw bytes and returns everything the server answered before closing. */
function exchange(path: string, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(path, () => socket.end(bytes));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

describe('KEK socket: sidecar server and node client', () => {
  test('hands the KEK to its own node, on a socket only the owner can open', async () => {
    const path = socketPath();
    const server = await serveKek(path, 'tss1', KEK, log);
    try {
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.deepEqual(await fetchKekFromSocket({ socket: path, nodeId: 'tss1', waitMs: 0 }), KEK);
      // Every connection is answered, so a restarted node unseals again.
      assert.deepEqual(await fetchKekFromSocket({ socket: path, nodeId: 'tss1', waitMs: 0 }), KEK);
    } finally {
      await closeServer(server);
    }
  });

  test('refuses another node at once, without retrying', async () => {
    const path = socketPath();
    const server = await serveKek(path, 'tss2', KEK, log);
    let retries = 0;
    try {
      await rejectsWith(
        fetchKekFromSocket({ socket: path, nodeId: 'tss1', waitMs: 60_000, onRetry: () => retries++ }),
        'REFUSED',
        /serves node tss2, not tss1/,
      );
      assert.equal(retries, 0);
    } finally {
      await closeServer(server);
    }
  });

  test('answers a malformed request with BAD_REQUEST', async () => {
    const path = socketPath();
    const server = await serveKek(path, 'tss1', KEK, log);
    try {
      for (const junk of [Buffer.from('GET / HTTP/1.1\r\n\r\n'), Buffer.from([...Buffer.from('CKEK'), 2, 4])]) {
        const answer = decodeKekResponse(await exchange(path, junk));
        assert.ok(answer.complete);
        assert.equal(answer.value.status, KekStatus.BAD_REQUEST);
        assert.ok(!('kek' in answer.value));
      }
    } finally {
      await closeServer(server);
    }
  });

  test('replaces a stale socket but never another kind of file', async () => {
    const stale = socketPath();
    // A process killed while listening leaves its socket file behind.
    const program = `require('node:net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`;
    assert.equal(spawnSync(process.execPath, ['-e', program]).signal, 'SIGKILL');
    assert.ok(lstatSync(stale).isSocket());
    writeFileSync(join(dir, 'not-a-socket'), 'keep me');
    await assert.rejects(serveKek(join(dir, 'not-a-socket'), 'tss1', KEK, log), /is not a socket/);
    const server = await serveKek(stale, 'tss1', KEK, log);
    try {
      assert.deepEqual(await fetchKekFromSocket({ socket: stale, nodeId: 'tss1', waitMs: 0 }), KEK);
    } finally {
      await closeServer(server);
    }
  });

  test('the node waits for a sidecar that starts after it', async () => {
    const path = socketPath();
    let server: Server | undefined;
    let starting: Promise<Server> | undefined;
    const kek = await fetchKekFromSocket({
      socket: path,
      nodeId: 'tss1',
      waitMs: 60_000,
      retryEveryMs: 10,
      // The sidecar comes up only after the node has found it missing.
      onRetry: (reason) => {
        assert.equal(reason, 'ENOENT');
        starting ??= serveKek(path, 'tss1', KEK, log).then((s) => (server = s));
      },
    });
    await starting;
    assert.ok(server, 'the client never retried');
    await closeServer(server);
    assert.deepEqual(kek, KEK);
  });

  test('gives up with a clear error once the bounded wait is over', async () => {
    await rejectsWith(
      fetchKekFromSocket({ socket: join(dir, 'never.sock'), nodeId: 'tss1', waitMs: 0 }),
      'UNAVAILABLE',
      /no KEK sidecar answered on .*never\.sock/,
    );
  });
});
