/**
 * Keygen and sign latency through the gateway (real node and gateway processes over mTLS on
 * loopback), signatures per second, and the RSS of a node and of the gateway.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustosClient } from '../sdk/index.ts';
import { startLocalCluster } from '../test/support/local-cluster.ts';
import { printTable, rssMb, runLoad } from './stats.ts';

const ALGOS = [
  { algo: 'EDDSA', curve: 'ED25519' },
  { algo: 'BLS', curve: 'BLS12_381' },
] as const;

// The per-access-key rate limit would otherwise throttle the load itself.
const configFile = join(mkdtempSync(join(tmpdir(), 'custos-bench-')), 'gateway.json');
writeFileSync(configFile, JSON.stringify({ rate_limit: { burst: 100_000, per_second: 100_000 } }));
const cluster = await startLocalCluster({
  gg18PoolSize: 0,
  gatewayEnv: { CUSTOS_LOG_LEVEL: 'warn', CUSTOS_GATEWAY_CONFIG: configFile },
});
const client = new CustosClient({
  baseUrl: cluster.baseUrl,
  accessKey: cluster.accessKey,
  secretKey: cluster.secretKey,
});
const rows: (string | number)[][] = [];
try {
  for (const { algo, curve } of ALGOS) {
    const gen = () => client.generateKey({ format: { algo_type: algo, curve } });
    await runLoad(gen, 3, 1); // warm-up
    for (const c of [1, 16]) {
      const r = await runLoad(gen, c === 1 ? 20 : 48, c);
      rows.push([algo, 'keygen', c, r.count, r.p50, r.p95, r.perSecond, r.errors]);
    }
    const key = await gen();
    const data = `0x${'11'.repeat(32)}`;
    await runLoad(() => client.sign(key.key_id, { data, data_type: 'RAW' }), 10, 1);
    for (const c of [1, 16]) {
      const r = await runLoad(() => client.sign(key.key_id, { data, data_type: 'RAW' }), c === 1 ? 100 : 400, c);
      rows.push([algo, 'sign', c, r.count, r.p50, r.p95, r.perSecond, r.errors]);
    }
  }
  printTable(['algo', 'op', 'concurrency', 'n', 'p50 ms', 'p95 ms', 'ops/s', 'errors'], rows);
  const nodeRss = cluster.nodes.map((n) => rssMb(n.pid));
  console.log();
  printTable(
    ['process', 'RSS MB'],
    [
      ['gateway', rssMb(cluster.gatewayPid)],
      ...cluster.nodes.map((n, i) => [n.id, nodeRss[i]!] as (string | number)[]),
    ],
  );
} finally {
  await cluster.stop();
}
