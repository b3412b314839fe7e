/**
 * The gateway process: config -> database (migrated) -> audit log -> coordinator -> HTTP.
 * Stops cleanly on SIGTERM/SIGINT: /ready fails at once, requests are still served for
 * `drain_seconds` (while the Service drops the pod), then in-flight requests finish and it exits. Logs never carry secrets: the master key, access key secrets
 * and request signatures are never passed to the logger.
 */
import { hexToBytes } from '@noble/hashes/utils.js';
import { Redis } from 'ioredis';
import { join } from 'node:path';
import pino from 'pino';
import { devTlsPaths, ReloadingTls } from '../common/pki/tls-files.ts';
import { builtinSchemes } from '../common/protocols/registry.ts';
import { createAuditLog } from './audit/audit-log.ts';
import { createAccessKeyStore, provisionBootstrapKey } from './auth/access-keys.ts';
import { loadOrCreateKeyFile } from './auth/key-file.ts';
import { createMemoryNonceCache, createRedisNonceCache } from './auth/nonce-cache.ts';
import { gatewayDir, loadConfig } from './config.ts';
import { createGrpcCoordinator } from './coordinator/grpc-coordinator.ts';
import { databaseUrl, migrateToLatest, openDatabase } from './db/index.ts';
import { buildConsoleApp } from './console/server.ts';
import { createConsoleSessionStore } from './console/sessions.ts';
import { createConsoleUserStore } from './console/users.ts';
import { createBackupService, type BackupService } from './backups/service.ts';
import { s3ObjectStore, BackupTargetsSchema } from '../common/backup/object-store.ts';
import { readFileSync } from 'node:fs';
import { buildGatewayApp, createGatewayServices } from './http/app.ts';
import { createMetrics } from './metrics.ts';
import { createMemoryRateLimiter, createRedisRateLimiter } from './ratelimit/token-bucket.ts';

const config = loadConfig();
const logger = pino({ level: config.log_level, name: 'gateway' });
const dir = gatewayDir(config);

const db = openDatabase({ url: config.database.url, home: config.home });
await migrateToLatest(db);
const masterKey = config.master_key_hex
  ? hexToBytes(config.master_key_hex)
  : await loadOrCreateKeyFile(join(dir, 'master.key'));
const audit = createAuditLog({
  db,
  // Replicas must share it, or each would sign checkpoints the others' verifier rejects.
  signingKey: config.audit_key_hex
    ? hexToBytes(config.audit_key_hex)
    : await loadOrCreateKeyFile(join(dir, 'audit.key')),
  checkpointEvery: config.audit.checkpoint_every,
  checkpointIntervalMs: config.audit.checkpoint_interval_seconds * 1000,
});
const accessKeys = createAccessKeyStore(db, masterKey);
for (const file of config.bootstrap_credentials_file?.split(',').filter(Boolean) ?? []) {
  const accessKey = await provisionBootstrapKey(accessKeys, file.trim());
  logger.info({ access_key: accessKey }, 'bootstrap access key provisioned');
}

const redis = config.redis ? new Redis(config.redis.url, { lazyConnect: false, maxRetriesPerRequest: 2 }) : undefined;
const rateOpts = { burst: config.rate_limit.burst, perSecond: config.rate_limit.per_second };

// One reloading view of the gateway's certificate, for its gRPC client and its HTTPS server.
const tls = new ReloadingTls(devTlsPaths(config.home, 'gateway'), {
  intervalMs: config.tls_reload_seconds * 1000,
  onError: (err) => logger.warn({ err: err.message }, 'TLS files changed but were refused; keeping the previous ones'),
}).start();
const coordinator = createGrpcCoordinator({
  home: config.home,
  tls,
  nodes: config.nodes,
  logger: logger.child({ component: 'coordinator' }),
  schemes: builtinSchemes(),
  onNodeEvent: (nodeId, event) => {
    audit
      .record({ operation: event, result: 'SUCCESS', nodeId, trail: { reported_by: 'coordinator' } })
      .catch((err: unknown) => logger.error({ err, nodeId, event }, 'audit write failed'));
  },
});

const metrics = createMetrics({ defaultMetrics: true, auditLength: () => audit.length() });
// One service layer for the API and the console: the same checks, the same audit.
const services = createGatewayServices({ config, db, coordinator, audit, metrics });
let backups: BackupService | undefined;
if (config.backup) {
  const targets = BackupTargetsSchema.parse(JSON.parse(readFileSync(config.backup.targets_file, 'utf8')));
  const url = databaseUrl({ url: config.database.url, home: config.home });
  backups = createBackupService({
    nodeIds: config.nodes.map((n) => n.id),
    snapshots: coordinator,
    sqliteFile: url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : undefined,
    keyFiles: {
      ...(config.master_key_hex ? {} : { master: join(dir, 'master.key') }),
      ...(config.audit_key_hex ? {} : { audit: join(dir, 'audit.key') }),
    },
    stores: [s3ObjectStore('primary', targets.primary), s3ObjectStore('dr', targets.dr)],
    recipients: config.backup.recipients,
    retentionDays: config.backup.retention_days,
    tls: () => tls.current,
    metrics,
    logger: logger.child({ component: 'backup' }),
  });
  backups
    .loadStatus()
    .catch((err: unknown) => logger.warn({ err }, 'could not read backup status from the primary store'));
}

let stopping = false;
const app = buildGatewayApp({
  config,
  db,
  coordinator,
  audit,
  logger,
  metrics,
  services,
  ...(backups ? { backups } : {}),
  accessKeys,
  nonces: redis ? createRedisNonceCache(redis) : createMemoryNonceCache(),
  rateLimiter: redis ? createRedisRateLimiter(redis, rateOpts) : createMemoryRateLimiter(rateOpts),
  ...(config.tls ? { tls } : {}),
  draining: () => stopping,
});

const consoleUsers = createConsoleUserStore(db, masterKey, {
  maxFailures: config.console.lockout_failures,
  lockSeconds: config.console.lockout_seconds,
});
if (config.console.bootstrap_user_file) {
  const { username, created } = await consoleUsers.provision(config.console.bootstrap_user_file);
  logger.info({ console_user: username, created }, 'bootstrap console user provisioned');
}
const consoleApp = config.console.enabled
  ? buildConsoleApp({
      config,
      db,
      coordinator,
      audit,
      logger,
      keys: services.keys,
      users: consoleUsers,
      sessions: createConsoleSessionStore(db, {
        idleSeconds: config.console.session_idle_seconds,
        absoluteSeconds: config.console.session_absolute_seconds,
      }),
      ...(config.tls ? { tls } : {}),
    })
  : undefined;

async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal, drain_seconds: config.drain_seconds }, 'shutting down: not ready, draining');
  await new Promise((r) => setTimeout(r, config.drain_seconds * 1000));
  try {
    // Stops accepting; requests in flight (a signing session) finish first.
    await app.close();
    audit.close();
    await consoleApp?.close();
    await coordinator.close();
    await redis?.quit();
    await db.destroy();
  } catch (err) {
    logger.error({ err }, 'error during shutdown');
    process.exitCode = 1;
  }
}
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));

// The console first: once the API answers /ready, the console answers too.
if (consoleApp) {
  await consoleApp.listen({ host: config.console.host ?? config.host, port: config.console.port });
  logger.info({ port: config.console.port }, 'console listening');
}
await app.listen({ host: config.host, port: config.port });
logger.info(
  {
    nodes: config.nodes.map((n) => n.id),
    algorithms: config.algorithms,
    database: config.database.url?.startsWith('mysql:') ? 'mysql' : 'sqlite',
    https: config.tls,
  },
  'gateway listening',
);
