/** The sidecar's Unix socket: answers each connection with the KEK, for its own node only. */
import { chmod, lstat, unlink } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { KekProtocolError, KekStatus, decodeKekRequest, encodeKekGranted, encodeKekRefused } from './protocol.ts';

// A request is at most 6 header bytes and a 255-byte node id; anything longer is not our client.
const MAX_REQUEST_BYTES = 261;
// Drops a client that connects and never asks; the node asks at once.
const IDLE_MS = 10_000;

/**
 * Listens on `path` (mode 0600, created under a restrictive umask so it is never briefly open to
 * others). A stale socket from an earlier run is removed; any other file there is left alone and
 * refused. `kek` stays the caller's: it is read on every request and zeroed by the caller on exit.
 */
export async function serveKek(path: string, nodeId: string, kek: Uint8Array, log: Logger): Promise<Server> {
  await removeStaleSocket(path);
  const server = createServer((socket) => answer(socket, nodeId, kek, log));
  const umask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(umask);
  }
  await chmod(path, 0o600);
  return server;
}

async function removeStaleSocket(path: string): Promise<void> {
  try {
    if (!(await lstat(path)).isSocket()) throw new Error(`${path} exists and is not a socket; refusing to replace it`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  await unlink(path);
}

function answer(socket: Socket, nodeId: string, kek: Uint8Array, log: Logger): void {
  let received = Buffer.alloc(0);
  let answered = false;
  const reply = (frame: Buffer, onWritten?: () => void) => {
    answered = true;
    socket.end(frame, onWritten);
  };
  socket.setTimeout(IDLE_MS, () => socket.destroy());
  socket.on('error', (err) => log.warn({ err: err.message }, 'KEK client connection failed'));
  socket.on('data', (chunk: Buffer) => {
    if (answered) return;
    received = Buffer.concat([received, chunk]);
    let request: ReturnType<typeof decodeKekRequest>;
    try {
      if (received.length > MAX_REQUEST_BYTES) throw new KekProtocolError('request too long');
      request = decodeKekRequest(received);
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'refused a malformed KEK request');
      reply(encodeKekRefused(KekStatus.BAD_REQUEST, (err as Error).message));
      return;
    }
    if (!request.complete) return;
    if (request.value.nodeId !== nodeId) {
      log.warn({ asked: request.value.nodeId }, 'refused a KEK request for another node');
      reply(encodeKekRefused(KekStatus.WRONG_NODE, `this sidecar serves node ${nodeId}, not ${request.value.nodeId}`));
      return;
    }
    const frame = encodeKekGranted(kek);
    reply(frame, () => frame.fill(0));
    log.info('KEK handed to the node');
  });
}
