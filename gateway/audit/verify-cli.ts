/**
 * Verifies the gateway's audit log: `tsx gateway/audit/verify-cli.ts [--home DIR] [--public-key HEX]`.
 * Uses the gateway's config (database url, checkpoint count and interval). Besides the chain it
 * compares the live head with the latest signed checkpoint (gateway/README.md "Audit log"). The checkpoint key is the public
 * half of $CUSTOS_HOME/gateway/audit.key unless --public-key gives it, so an auditor without the
 * private key can verify too. Exit status 0 when intact, 1 when tampered, 2 on usage errors.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gatewayDir, loadConfig } from '../config.ts';
import { openDatabase } from '../db/index.ts';
import { compareHead, verifyAuditLog } from './verify.ts';

const { values } = parseArgs({
  options: { home: { type: 'string' }, 'public-key': { type: 'string' } },
  strict: true,
});
let config;
let publicKeyHex: string;
try {
  config = loadConfig(values.home ? { ...process.env, CUSTOS_HOME: values.home } : process.env);
  publicKeyHex =
    values['public-key'] ?? bytesToHex(ed25519.getPublicKey(readFileSync(join(gatewayDir(config), 'audit.key'))));
} catch (err) {
  console.error(`audit verify: ${(err as Error).message}`);
  process.exit(2);
}
const db = openDatabase({ url: config.database.url, home: config.home });
try {
  const result = await verifyAuditLog(db, { publicKeyHex, checkpointEvery: config.audit.checkpoint_every });
  const head = await compareHead(db, { maxUnsealedMs: 2 * config.audit.checkpoint_interval_seconds * 1000 });
  if (result.ok && head.problem) {
    console.log(`audit log TAMPERED at seq ${head.problem.firstBadSeq}: ${head.problem.reason}`);
    process.exitCode = 1;
  } else if (result.ok) {
    console.log(
      `audit log intact: ${result.entries} entries, ${result.checkpoints} signed checkpoints, ` +
        `${head.unsealed_entries} entries after the latest checkpoint`,
    );
  } else {
    console.log(`audit log TAMPERED at seq ${result.firstBadSeq}: ${result.reason}`);
    process.exitCode = 1;
  }
} finally {
  await db.destroy();
}
