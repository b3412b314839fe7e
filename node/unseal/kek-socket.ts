/**
 * Fetches the node's KEK from the PKCS#11 sidecar over its Unix socket (docs/hsm.md). The sidecar
 * may start after the node, so an absent or not-yet-listening socket is retried until `waitMs`
 * has passed; a refusal (another node's sidecar, a protocol mismatch) is final at once. The
 * result is a 32-byte Uint8Array the caller owns and zeroes once the DEK is unwrapped.
 */
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeKekResponse, encodeKekRequest } from '../kek-sidecar/protocol.ts';

export type KekSocketErrorCode = 'UNAVAILABLE' | 'REFUSED' | 'PROTOCOL';

export class KekSocketError extends Error {
  constructor(
    readonly code: KekSocketErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'KekSocketError';
  }
}

export interface KekSocketOptions {
  readonly socket: string;
  readonly nodeId: string;
  /** How long to keep retrying while the sidecar is not listening yet. */
  readonly waitMs: number;
  readonly retryEveryMs?: number;
  /** Told about each failed attempt that will be retried (for a "waiting for the sidecar" log). */
  readonly onRetry?: (reason: string) => void;
}

// Errors that mean "the sidecar is not listening (yet)", not "the sidecar said no".
const NOT_YET = new Set(['ENOENT', 'ECONNREFUSED', 'EAGAIN', 'ECONNRESET', 'EPIPE']);

export async function fetchKekFromSocket(opts: KekSocketOptions): Promise<Uint8Array> {
  const deadline = Date.now() + opts.waitMs;
  for (;;) {
    try {
      return await askOnce(opts.socket, opts.nodeId);
    } catch (err) {
      if (err instanceof KekSocketError) throw err;
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      if (!NOT_YET.has(code))
        throw new KekSocketError('UNAVAILABLE', `cannot use the KEK socket ${opts.socket} (${code})`);
      if (Date.now() >= deadline) {
        throw new KekSocketError(
          'UNAVAILABLE',
          `no KEK sidecar answered on ${opts.socket} within ${Math.round(opts.waitMs / 1000)} s (${code}); is the PKCS#11 sidecar running?`,
        );
      }
      opts.onRetry?.(code);
      await sleep(opts.retryEveryMs ?? 250);
    }
  }
}

/** One connection: send the request, read one response frame. */
function askOnce(path: string, nodeId: string): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let received = Buffer.alloc(0);
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      received.fill(0);
      socket.destroy();
      fn();
    };
    socket.once('connect', () => socket.write(encodeKekRequest(nodeId)));
    socket.on('error', (err) => settle(() => reject(err)));
    socket.on('data', (chunk: Buffer) => {
      const joined = Buffer.concat([received, chunk]);
      received.fill(0);
      chunk.fill(0);
      received = joined;
      let response: ReturnType<typeof decodeKekResponse>;
      try {
        response = decodeKekResponse(received);
      } catch (err) {
        settle(() =>
          reject(
            new KekSocketError('PROTOCOL', `the KEK sidecar spoke an unknown protocol: ${(err as Error).message}`),
          ),
        );
        return;
      }
      if (!response.complete) return;
      const value = response.value;
      settle(() =>
        'kek' in value
          ? resolve(value.kek)
          : reject(new KekSocketError('REFUSED', `the KEK sidecar refused: ${value.reason}`)),
      );
    });
    socket.once('end', () =>
      settle(() => reject(new KekSocketError('PROTOCOL', 'the KEK sidecar closed the connection without an answer'))),
    );
  });
}
