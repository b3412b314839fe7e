/**
 * Gateway overhead per request with the MPC session excluded (gateway/README.md "Roles and
 * scopes", "Audit log"): request-signature check, nonce, role, scope, validation, the database
 * and the audit append, on a real SQLite file, through the real app (`inject`, no sockets). The
 * sign case stops where the MPC session would start (the cluster answers "unavailable", which is
 * itself audited), so it measures everything the gateway adds to a signature.
 */
import { randomBytes } from 'node:crypto';
import { healthyNodes, insertKey, signedRequest, startTestGateway } from '../gateway/testing/http-harness.ts';
import { percentile, printTable } from './stats.ts';

const REQUESTS = Number(process.env.CUSTOS_BENCH_REQUESTS ?? 2000);
const gw = await startTestGateway({ rate_limit: { burst: 1_000_000, per_second: 1_000_000 } });
try {
  gw.coordinator.health_ = healthyNodes();
  const created = await signedRequest(gw, 'POST', '/api/v1/access-keys', {
    body: { roles: ['signer', 'key-admin'], scopes: [{ label_prefix: 'bench/' }, { label: 'other' }] },
  });
  const as = { accessKey: created.json().access_key as string, secretKey: created.json().secret_key as string };
  const key = await insertKey(gw.db, { label: 'bench/hot' });
  const cases: [string, () => Promise<{ statusCode: number }>, number][] = [
    ['GET key (auth, scope)', () => signedRequest(gw, 'GET', `/api/v1/keys/${key.key_id}`, as), 200],
    [
      'PUT status (auth, role, scope, DB write, audit append)',
      () => signedRequest(gw, 'PUT', `/api/v1/keys/${key.key_id}/status`, { ...as, body: { status: 'ACTIVE' } }),
      200,
    ],
    [
      'POST sign up to the MPC session (auth, role, scope, digest, node selection, audit append)',
      () =>
        signedRequest(gw, 'POST', `/api/v1/keys/${key.key_id}/sign`, {
          ...as,
          body: { data: `0x${randomBytes(32).toString('hex')}`, data_type: 'RAW' },
        }),
      503,
    ],
  ];
  const rows: (string | number)[][] = [];
  for (const [name, call, expected] of cases) {
    for (let i = 0; i < 100; i++) await call(); // warm-up
    const latencies: number[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      const started = performance.now();
      const res = await call();
      latencies.push(performance.now() - started);
      if (res.statusCode !== expected) throw new Error(`${name}: HTTP ${res.statusCode}`);
    }
    latencies.sort((a, b) => a - b);
    rows.push([
      name,
      REQUESTS,
      Number(percentile(latencies, 50).toFixed(2)),
      Number(percentile(latencies, 99).toFixed(2)),
    ]);
  }
  console.log(`gateway overhead on SQLite, ${REQUESTS} sequential requests each (ms)`);
  printTable(['request', 'n', 'p50 ms', 'p99 ms'], rows);
} finally {
  await gw.close();
}
