/**
 * What client authorisation costs an EDDSA signature (docs/security.md, "Client authorisation"):
 * sign latency through the gateway with an HMAC access key (no client authorisation) and with an
 * Ed25519 access key (each holder node verifies the client's signature and claims its nonce),
 * interleaved so both see the same machine load; plus the verification alone.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPrivateKey } from 'node:crypto';
import {
  authorizationStatement,
  generateClientKeyPair,
  signStatement,
  verifyStatement,
} from '../common/authz/client-keys.ts';
import { CustosClient } from '../sdk/index.ts';
import { startLocalCluster } from '../test/support/local-cluster.ts';
import { percentile, printTable } from './stats.ts';

const SIGNATURES = Number(process.env.CUSTOS_BENCH_SIGNATURES ?? 300);
const configFile = join(mkdtempSync(join(tmpdir(), 'custos-bench-')), 'gateway.json');
writeFileSync(configFile, JSON.stringify({ rate_limit: { burst: 100_000, per_second: 100_000 } }));

const cluster = await startLocalCluster({
  gg18PoolSize: 0,
  gatewayEnv: { CUSTOS_LOG_LEVEL: 'warn', CUSTOS_GATEWAY_CONFIG: configFile },
});
try {
  const hmac = new CustosClient({
    baseUrl: cluster.baseUrl,
    accessKey: cluster.accessKey,
    secretKey: cluster.secretKey,
  });
  const pair = generateClientKeyPair('ED25519');
  await hmac.createAccessKey({
    access_key: 'bench-ed25519',
    algorithm: 'ED25519',
    public_key: pair.publicKey,
    roles: ['key-admin', 'signer'],
  });
  const asym = new CustosClient({
    baseUrl: cluster.baseUrl,
    accessKey: 'bench-ed25519',
    privateKey: pair.privateKeyPem,
  });
  const eddsa = { format: { curve: 'ED25519', algo_type: 'EDDSA' } } as const;
  const hmacKey = await hmac.generateKey(eddsa);
  const asymKey = await asym.generateKey(eddsa);
  const times = { hmac: [] as number[], ed25519: [] as number[] };
  for (let i = 0; i < SIGNATURES; i++) {
    const data = `0x${i.toString(16).padStart(8, '0')}`;
    for (const [kind, client, key] of [
      ['hmac', hmac, hmacKey],
      ['ed25519', asym, asymKey],
    ] as const) {
      const t0 = performance.now();
      await client.sign(key.key_id, { data, data_type: 'RAW' });
      times[kind].push(performance.now() - t0);
    }
  }
  const row = (label: string, xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return [label, xs.length, percentile(s, 50).toFixed(2), percentile(s, 95).toFixed(2)];
  };
  printTable(
    ['EDDSA sign (ms)', 'n', 'p50', 'p95'],
    [row('HMAC key', times.hmac), row('Ed25519 key + node check', times.ed25519)],
  );

  const privateKey = createPrivateKey(pair.privateKeyPem);
  const entry = { algorithm: 'ED25519' as const, public_key: pair.publicKey };
  const statement = authorizationStatement({
    access_key: 'bench-ed25519',
    key_id: asymKey.key_id,
    data_type: 'RAW',
    message_sha256: '00'.repeat(32),
    timestamp_ms: Date.now(),
    nonce: 'n'.repeat(32),
  });
  const sig = signStatement(privateKey, statement);
  const t0 = performance.now();
  for (let i = 0; i < 2000; i++) verifyStatement(entry, statement, sig);
  printTable(
    ['client authorisation check', 'µs per verification'],
    [['Ed25519', (((performance.now() - t0) / 2000) * 1000).toFixed(1)]],
  );
} finally {
  await cluster.stop();
}
