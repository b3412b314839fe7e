/**
 * Through the gateway, with real node and gateway processes over mTLS on loopback: keygen and
 * sign latency (p50, p95), signatures per second, and the RSS of the nodes and the gateway. GG18
 * keygen is measured with the pre-params pools empty (safe primes on demand) and warm.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustosClient } from '../sdk/index.ts';
import { startLocalCluster, type LocalCluster } from '../test/support/local-cluster.ts';
import { loadAverage, peakRssMb, printTable, runLoad } from './stats.ts';

type Row = (string | number)[];

/** Each row is also printed as soon as it is measured, so a run cut short keeps what it measured. */
function record(rows: Row[], row: Row): void {
  rows.push(row);
  console.log(row.join('\t'));
}

// The per-access-key rate limit would otherwise throttle the load itself.
const configFile = join(mkdtempSync(join(tmpdir(), 'custos-bench-')), 'gateway.json');
writeFileSync(configFile, JSON.stringify({ rate_limit: { burst: 100_000, per_second: 100_000 } }));
const gatewayEnv = { CUSTOS_LOG_LEVEL: 'warn', CUSTOS_GATEWAY_CONFIG: configFile };

function clientOf(cluster: LocalCluster): CustosClient {
  return new CustosClient({
    baseUrl: cluster.baseUrl,
    accessKey: cluster.accessKey,
    secretKey: cluster.secretKey,
    timeoutMs: 300_000,
  });
}

function rssRows(cluster: LocalCluster, label: string): Row[] {
  return [
    [label, 'gateway', peakRssMb(cluster.gatewayPid)],
    ...cluster.nodes.map((n): Row => [label, n.id, peakRssMb(n.pid)]),
  ];
}

async function eddsaAndBls(rows: Row[], memory: Row[]): Promise<void> {
  const cluster = await startLocalCluster({ gg18PoolSize: 0, gatewayEnv });
  const client = clientOf(cluster);
  try {
    for (const { algo, curve } of [
      { algo: 'EDDSA', curve: 'ED25519' },
      { algo: 'BLS', curve: 'BLS12_381' },
    ] as const) {
      const gen = () => client.generateKey({ format: { algo_type: algo, curve } });
      await runLoad(gen, 3, 1); // warm-up
      for (const c of [1, 16]) {
        const r = await runLoad(gen, c === 1 ? 20 : 48, c);
        record(rows, [algo, 'keygen', c, r.count, r.p50, r.p95, r.perSecond, r.errors]);
      }
      const key = await gen();
      const data = `0x${'11'.repeat(32)}`;
      await runLoad(() => client.sign(key.key_id, { data, data_type: 'RAW' }), 10, 1);
      for (const c of [1, 16]) {
        const r = await runLoad(() => client.sign(key.key_id, { data, data_type: 'RAW' }), c === 1 ? 100 : 400, c);
        record(rows, [algo, 'sign', c, r.count, r.p50, r.p95, r.perSecond, r.errors]);
      }
    }
    memory.push(...rssRows(cluster, 'after EDDSA/BLS load'));
  } finally {
    await cluster.stop();
  }
}

async function waitForPools(client: CustosClient, atLeast: number): Promise<void> {
  for (;;) {
    const ready = await client.ready();
    if (ready.nodes.every((n) => n.gg18_preparams_ready >= atLeast)) return;
    await new Promise((r) => setTimeout(r, 2000));
  }
}

async function gg18(rows: Row[], memory: Row[]): Promise<void> {
  const cluster = await startLocalCluster({ gg18PoolSize: 2, gatewayEnv });
  const client = clientOf(cluster);
  const gen = () => client.generateKey({ format: { algo_type: 'GG18', curve: 'SECP256K1' } });
  try {
    // Right after start the pools are still empty: keygen waits for safe primes.
    const cold = await runLoad(gen, 1, 1);
    record(rows, ['GG18', 'keygen, pool empty', 1, cold.count, cold.p50, cold.p95, cold.perSecond, cold.errors]);
    process.stdout.write('waiting for every node to hold 2 GG18 pre-params...\n');
    await waitForPools(client, 2);
    const warm = await runLoad(gen, 2, 1);
    record(rows, ['GG18', 'keygen, pool warm', 1, warm.count, warm.p50, warm.p95, warm.perSecond, warm.errors]);
    const key = await gen();
    const hash = () => `0x${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex')}`;
    const sign = () => client.sign(key.key_id, { data: hash(), data_type: 'HASH' });
    await runLoad(sign, 2, 1);
    for (const [c, n] of [
      [1, 20],
      [8, 40],
    ] as const) {
      const r = await runLoad(sign, n, c);
      record(rows, ['GG18', 'sign 2-of-3', c, r.count, r.p50, r.p95, r.perSecond, r.errors]);
    }
    memory.push(...rssRows(cluster, 'after GG18 load'));
  } finally {
    await cluster.stop();
  }
}

const rows: Row[] = [];
const memory: Row[] = [];
// `--only EDDSA` or `--only GG18` runs one section.
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
for (const [name, run] of [
  ['EDDSA and BLS', eddsaAndBls],
  ['GG18', gg18],
] as const) {
  if (only && !name.includes(only)) continue;
  console.log(`${name}: load average at start ${loadAverage()}`);
  await run(rows, memory);
  console.log(`${name}: load average at end ${loadAverage()}`);
}
printTable(['algo', 'op', 'concurrency', 'n', 'p50 ms', 'p95 ms', 'ops/s', 'errors'], rows);
console.log();
printTable(['when', 'process', 'peak RSS (VmHWM) MB'], memory);
