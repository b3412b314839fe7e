/**
 * A stand-in gateway for the SDK's and CLI's tests: a real fastify server on loopback that
 * verifies every request signature with the shared verifier and answers as the test scripts.
 */
import Fastify from 'fastify';
import type { Key } from '../../common/api/schemas.ts';
import { AUTH_HEADERS, NONCE_PATTERN, signatureMatches } from '../../common/auth/request-signing.ts';

export interface RecordedRequest {
  method: string;
  /** Path and query exactly as received on the wire. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  signatureValid: boolean;
  nonce: string;
  /** When the request arrived, on the test's own clock (performance.now()). */
  receivedAt: number;
}

export interface Reply {
  status: number;
  body?: unknown;
  /** Sent verbatim instead of JSON, e.g. a proxy's HTML error page. */
  rawBody?: string;
  headers?: Record<string, string>;
}

/** Answers the index-th request that passed signature verification. */
export type Script = (req: RecordedRequest, index: number) => Reply;

export interface ScriptedGateway {
  url: string;
  port: number;
  requests: RecordedRequest[];
  close: () => Promise<void>;
}

export const TEST_ACCESS_KEY = 'ak_test';
export const TEST_SECRET_KEY = 'sk_test_do_not_use';

export async function startScriptedGateway(script: Script, opts: { port?: number } = {}): Promise<ScriptedGateway> {
  const app = Fastify();
  const requests: RecordedRequest[] = [];
  let verified = 0;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.all('*', async (request, reply) => {
    const header = (name: string) => String(request.headers[name] ?? '');
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const nonce = header(AUTH_HEADERS.nonce);
    const signatureValid =
      header(AUTH_HEADERS.accessKey) === TEST_ACCESS_KEY &&
      NONCE_PATTERN.test(nonce) &&
      signatureMatches(
        TEST_SECRET_KEY,
        {
          method: request.method,
          pathWithQuery: request.url,
          timestampMs: header(AUTH_HEADERS.timestamp),
          nonce,
          body,
        },
        header(AUTH_HEADERS.signature),
      );
    const recorded: RecordedRequest = {
      method: request.method,
      url: request.url,
      headers: request.headers,
      body,
      signatureValid,
      nonce,
      receivedAt: performance.now(),
    };
    requests.push(recorded);
    const answer: Reply = signatureValid
      ? script(recorded, verified++)
      : errorReply(401, 'UNAUTHENTICATED', 'bad request signature');
    reply.code(answer.status).headers(answer.headers ?? {});
    if (answer.rawBody !== undefined) return reply.type('text/html').send(answer.rawBody);
    return reply.type('application/json').send(JSON.stringify(answer.body ?? {}));
  });
  await app.listen({ host: '127.0.0.1', port: opts.port ?? 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('fastify did not bind a TCP port');
  return { url: `http://127.0.0.1:${address.port}`, port: address.port, requests, close: () => app.close() };
}

export function errorReply(status: number, code: string, message: string, headers?: Record<string, string>): Reply {
  return { status, body: { error: { code, message, request_id: `req_${status}` } }, ...(headers ? { headers } : {}) };
}

export function sampleKey(overrides: Partial<Key> = {}): Key {
  return {
    key_id: 'key_0123456789abcdef0123456789abcdef',
    label: null,
    status: 'ACTIVE',
    format: { type: 'ECC', curve: 'ED25519', algo_type: 'EDDSA', size: 32 },
    shard_properties: { shard_count: 3, threshold: 2 },
    public_key: '0x' + '11'.repeat(32),
    address: 'So1anaAddre55',
    addresses: { solana: 'So1anaAddre55' },
    shard_nodes: ['tss1', 'tss2', 'tss3'],
    created_at: '2026-11-24T00:00:00.000Z',
    updated_at: '2026-11-24T00:00:00.000Z',
    ...overrides,
  };
}
