/**
 * A `fetch` over node:https that trusts one private CA (Node's global fetch cannot be given a CA
 * without an extra dependency). The operator reaches the gateway with it, verifying the gateway's
 * certificate against the cluster CA and its workload identity instead of a host name.
 */
import { request } from 'node:https';
import type { PeerCertificate } from 'node:tls';

export interface TlsFetchOptions {
  /** PEM of the CA the server certificate must chain to (the only trusted root). */
  readonly ca: string | Buffer;
  /** Replaces the host-name check; return an Error to refuse the server. */
  readonly checkServerIdentity?: (host: string, cert: PeerCertificate) => Error | undefined;
}

export function createTlsFetch(opts: TlsFetchOptions): typeof fetch {
  return (async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    if (url.protocol !== 'https:') throw new TypeError(`refusing ${url.protocol} for ${url.host}: https only`);
    const headers = new Headers(init.headers);
    const body = init.body === undefined || init.body === null ? undefined : Buffer.from(init.body as string);
    return new Promise<Response>((resolve, reject) => {
      const req = request(
        url,
        {
          method: init.method ?? 'GET',
          headers: Object.fromEntries(headers.entries()),
          ca: opts.ca,
          rejectUnauthorized: true,
          ...(opts.checkServerIdentity ? { checkServerIdentity: opts.checkServerIdentity } : {}),
          signal: init.signal ?? undefined,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const out = new Headers();
            for (const [k, v] of Object.entries(res.headers))
              if (v !== undefined) out.set(k, Array.isArray(v) ? v.join(', ') : v);
            const status = res.statusCode ?? 502;
            const noBody = status === 204 || status === 304;
            resolve(new Response(noBody ? null : Buffer.concat(chunks), { status, headers: out }));
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }) as typeof fetch;
}
