/**
 * Test fixtures for the gateway's unit tests: a real SQLite file in a temp dir, real audit log,
 * real auth; only the MPC cluster is replaced (see ScriptedCoordinator).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { AUTH_HEADERS, signRequest } from '../../common/auth/request-signing.ts';
import { createAuditLog } from '../audit/audit-log.ts';
import { createAccessKeyStore } from '../auth/access-keys.ts';
import { createMemoryNonceCache } from '../auth/nonce-cache.ts';
import { GatewayConfigSchema, type GatewayConfig } from '../config.ts';
import {
  MpcSessionError,
  type HolderVersions,
  type KeygenRequest,
  type RefreshRequest,
  type RefreshResult,
  type KeygenResult,
  type MpcCoordinator,
  type NodeHealth,
  type ShareDestruction,
  type SignRequest,
} from '../coordinator/types.ts';
import { migrateToLatest, nowIso, openDatabase, type Db } from '../db/index.ts';
import type { KeyRow } from '../db/schema.ts';
import { newKeyId } from '../keys/service.ts';
import { createMetrics } from '../metrics.ts';
import { createMemoryRateLimiter } from '../ratelimit/token-bucket.ts';
import { buildGatewayApp } from '../http/app.ts';

export const ACCESS_KEY = 'AK_test_0001';
export const SECRET_KEY = 'sk_test_secret_value_that_must_never_be_on_disk';

export function healthyNodes(n = 4): NodeHealth[] {
  return Array.from({ length: n }, (_, i) => ({
    nodeId: `tss${i + 1}`,
    reachable: true,
    sealed: false,
    shareCount: 0,
    version: 'test',
    latencyMs: 1,
  }));
}

/**
 * Stands in for the TSS cluster ONLY to drive the gateway's error mapping (unavailable, timeout,
 * culprit) and node selection; the real keygen/sign paths are covered by the integration tests
 * with real node processes. Every session fails with the scripted error.
 */
export class ScriptedCoordinator implements MpcCoordinator {
  health_: NodeHealth[] = healthyNodes();
  failure: Error = new MpcSessionError('no cluster in unit tests', undefined, 'unavailable');
  keygenCalls: KeygenRequest[] = [];
  signCalls: SignRequest[] = [];
  /** Resolves a session only when a test wants it to never finish (timeouts). */
  hang = false;

  async health(): Promise<NodeHealth[]> {
    return this.health_;
  }
  async keygen(req: KeygenRequest): Promise<KeygenResult> {
    this.keygenCalls.push(req);
    if (this.hang) return new Promise<never>(() => undefined);
    throw this.failure;
  }
  async sign(req: SignRequest): Promise<Uint8Array> {
    this.signCalls.push(req);
    if (this.hang) return new Promise<never>(() => undefined);
    throw this.failure;
  }
  async changeSignPolicy(): Promise<string> {
    throw this.failure;
  }
  async clearAbortCount(): Promise<Record<string, number>> {
    throw this.failure;
  }
  /** Holders that confirm a destruction; the others answer with the scripted failure (real nodes: test/integration). */
  confirmingHolders = new Set<string>();
  destroyCalls: { holders: readonly string[]; keyId: string }[] = [];
  async destroyShares(holders: readonly string[], keyId: string): Promise<ShareDestruction[]> {
    this.destroyCalls.push({ holders, keyId });
    return holders.map((nodeId) =>
      this.confirmingHolders.has(nodeId)
        ? { nodeId, confirmed: true as const, hadShare: true, destroyedAtMs: Date.now() }
        : { nodeId, confirmed: false as const, error: this.failure.message },
    );
  }
  refreshCalls: RefreshRequest[] = [];
  async refresh(req: RefreshRequest): Promise<RefreshResult> {
    this.refreshCalls.push(req);
    throw this.failure;
  }
  async finishShareVersion(): Promise<HolderVersions> {
    throw this.failure;
  }
  async close(): Promise<void> {}
}

export interface TestGateway {
  app: ReturnType<typeof buildGatewayApp>;
  db: Db;
  dir: string;
  dbFile: string;
  coordinator: ScriptedCoordinator;
  audit: ReturnType<typeof createAuditLog>;
  accessKeys: ReturnType<typeof createAccessKeyStore>;
  /** A second gateway on the same database (another replica), sharing the scripted cluster. */
  replica(): Promise<TestGateway>;
  close(): Promise<void>;
}

/** A gateway on a fresh SQLite file, or on `databaseUrl` (an empty MySQL database). */
export async function startTestGateway(
  overrides: Partial<GatewayConfig> = {},
  databaseUrl?: string,
  draining?: () => boolean,
): Promise<TestGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'custos-gw-'));
  const dbFile = join(dir, 'gateway', 'custos.db');
  const config = { ...GatewayConfigSchema.parse({ home: dir }), ...overrides };
  const url = databaseUrl ?? `sqlite:${dbFile}`;
  const db = openDatabase({ url, home: dir });
  await migrateToLatest(db);
  const signingKey = randomBytes(32);
  const masterKey = randomBytes(32);
  const audit = createAuditLog({ db, signingKey, checkpointEvery: config.audit.checkpoint_every });
  const accessKeys = createAccessKeyStore(db, masterKey);
  await accessKeys.upsert({ accessKey: ACCESS_KEY, secretKey: SECRET_KEY, enabled: true, allowedCidrs: [] });
  const coordinator = new ScriptedCoordinator();
  return assemble({ config, db, dir, dbFile, coordinator, audit, accessKeys, owner: true, draining }, async () => {
    const replicaDb = openDatabase({ url, home: dir });
    const replicaAudit = createAuditLog({ db: replicaDb, signingKey, checkpointEvery: config.audit.checkpoint_every });
    const replicaKeys = createAccessKeyStore(replicaDb, masterKey);
    return assemble(
      { config, db: replicaDb, dir, dbFile, coordinator, audit: replicaAudit, accessKeys: replicaKeys, owner: false },
      () => Promise.reject(new Error('a replica of a replica')),
    );
  });
}

async function assemble(
  parts: {
    config: GatewayConfig;
    db: Db;
    dir: string;
    dbFile: string;
    coordinator: ScriptedCoordinator;
    audit: ReturnType<typeof createAuditLog>;
    accessKeys: ReturnType<typeof createAccessKeyStore>;
    /** The first gateway owns the temp dir and removes it on close. */
    owner: boolean;
    draining?: () => boolean;
  },
  replica: () => Promise<TestGateway>,
): Promise<TestGateway> {
  const { config, db, dir, dbFile, coordinator, audit, accessKeys, draining } = parts;
  const app = buildGatewayApp({
    config,
    db,
    coordinator,
    audit,
    logger: pino({ level: 'silent' }),
    metrics: createMetrics({ auditLength: () => audit.length() }),
    accessKeys,
    nonces: createMemoryNonceCache(),
    rateLimiter: createMemoryRateLimiter({ burst: config.rate_limit.burst, perSecond: config.rate_limit.per_second }),
    ...(draining ? { draining } : {}),
  });
  await app.ready();
  return {
    app,
    db,
    dir,
    dbFile,
    coordinator,
    audit,
    accessKeys,
    replica,
    async close() {
      await app.close();
      await db.destroy();
      if (parts.owner) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface SignedOptions {
  body?: unknown;
  /** Raw body text, sent as is (malformed JSON). */
  rawBody?: string;
  timestampMs?: number;
  nonce?: string;
  accessKey?: string;
  secretKey?: string;
  headers?: Record<string, string>;
  /** Signs a different path/body than the one sent (tampering). */
  signedUrl?: string;
  signedBody?: string;
  remoteAddress?: string;
}

export const newNonce = () => randomBytes(16).toString('hex');

/** Injects a request signed like the SDK signs it. */
export function signedRequest(gw: TestGateway, method: string, url: string, opts: SignedOptions = {}) {
  const payload = opts.rawBody ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
  const timestampMs = opts.timestampMs ?? Date.now();
  const nonce = opts.nonce ?? newNonce();
  const signature = signRequest(opts.secretKey ?? SECRET_KEY, {
    method,
    pathWithQuery: opts.signedUrl ?? url,
    timestampMs,
    nonce,
    body: opts.signedBody ?? payload,
  });
  return gw.app.inject({
    method: method as 'GET',
    url,
    payload,
    remoteAddress: opts.remoteAddress,
    headers: {
      ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
      [AUTH_HEADERS.accessKey]: opts.accessKey ?? ACCESS_KEY,
      [AUTH_HEADERS.timestamp]: String(timestampMs),
      [AUTH_HEADERS.nonce]: nonce,
      [AUTH_HEADERS.signature]: signature,
      ...opts.headers,
    },
  });
}

/** Inserts a key row directly (what a successful keygen stores), for routes that need an existing key. */
export async function insertKey(db: Db, over: Partial<KeyRow> = {}): Promise<KeyRow> {
  const now = nowIso();
  const row: KeyRow = {
    key_id: newKeyId(),
    label: null,
    status: 'ACTIVE',
    algo: 'EDDSA',
    curve: 'ED25519',
    shard_count: 3,
    threshold: 2,
    public_key: `0x${'11'.repeat(32)}`,
    public_info: new Uint8Array([1, 2, 3]),
    address: 'addr',
    addresses: JSON.stringify({ SOLANA: 'addr' }),
    shard_nodes: JSON.stringify(['tss1', 'tss2', 'tss3']),
    idempotency_key: null,
    request_hash: null,
    share_version: 1,
    created_at: now,
    updated_at: now,
    ...over,
  };
  await db.insertInto('keys').values(row).execute();
  return row;
}

export async function auditRows(db: Db) {
  return db.selectFrom('audit_log').selectAll().orderBy('seq').execute();
}

export async function keyCount(db: Db): Promise<number> {
  const r = await db
    .selectFrom('keys')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}
