/**
 * Backup sets (docs/operations.md "Backups"): every node's store snapshot through its own API, the
 * gateway database through SQLite's online backup, encrypted with age to the offline recovery
 * recipients, a manifest signed with the gateway's certificate key, written to the primary and
 * the DR object store. One backup runs at a time; sets older than the retention are pruned after
 * a success, the newest complete set always kept.
 */
import Sqlite from 'better-sqlite3';
import { createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { listSets, newSetId, pruneSets, sealSet, uploadSet, type PlainFile } from '../../common/backup/backup-set.ts';
import { encodeNodeBackup } from '../../common/backup/node-file.ts';
import { encodeGatewayKeys } from '../../common/backup/gateway-keys.ts';
import type { ObjectStore } from '../../common/backup/object-store.ts';
import { identityOfCertificate } from '../../common/pki/identity.ts';
import type { TlsMaterial } from '../../common/pki/tls-files.ts';
import type { NodeSnapshots } from '../coordinator/types.ts';
import type { GatewayMetrics } from '../metrics.ts';

export class BackupUnavailableError extends Error {
  constructor(
    readonly code: 'NOT_CONFIGURED' | 'IN_PROGRESS' | 'UNSUPPORTED_DATABASE' | 'NODE_UNAVAILABLE' | 'STORE_UNAVAILABLE',
    message: string,
  ) {
    super(message);
    this.name = 'BackupUnavailableError';
  }
}

export interface BackupStatus {
  readonly lastSuccessAt?: Date;
  readonly lastSetId?: string;
  readonly sizeBytes?: number;
  readonly lastError?: string;
}

export interface BackupResult {
  readonly setId: string;
  readonly sizeBytes: number;
  readonly durationMs: number;
  readonly files: number;
  readonly locations: string[];
  readonly pruned: string[];
}

export interface BackupServiceOptions {
  readonly nodeIds: readonly string[];
  readonly snapshots: NodeSnapshots;
  /** The SQLite file of the gateway database; undefined for MySQL. */
  readonly sqliteFile: string | undefined;
  /** The gateway's key files (master, audit) to include; only those the gateway keeps in files. */
  readonly keyFiles: { readonly master?: string; readonly audit?: string };
  /** Primary first, then DR. */
  readonly stores: readonly ObjectStore[];
  readonly recipients: readonly string[];
  readonly retentionDays: number;
  /** The gateway's current certificate and key (the manifest signer). */
  readonly tls: () => TlsMaterial;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  readonly now?: () => Date;
}

export interface BackupService {
  create(): Promise<BackupResult>;
  list(): Promise<{ location: string; sets: Awaited<ReturnType<typeof listSets>> }>;
  status(): BackupStatus;
  /** Reads the newest complete set from the primary store, so status survives a restart. */
  loadStatus(): Promise<void>;
}

/** SQLite's online backup API: a consistent copy while the gateway keeps writing. */
export async function sqliteOnlineBackup(file: string): Promise<Uint8Array> {
  const dir = await mkdtemp(join(tmpdir(), 'custos-db-backup-'));
  const source = new Sqlite(file, { readonly: true, fileMustExist: true });
  try {
    await source.backup(join(dir, 'custos.db'));
    return new Uint8Array(await readFile(join(dir, 'custos.db')));
  } finally {
    source.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export function createBackupService(opts: BackupServiceOptions): BackupService {
  const now = opts.now ?? (() => new Date());
  let running = false;
  let status: BackupStatus = {};

  const succeeded = (setId: string, at: Date, sizeBytes: number) => {
    status = { lastSuccessAt: at, lastSetId: setId, sizeBytes };
    opts.metrics.backupLastSuccess.set(at.getTime() / 1000);
    opts.metrics.backupLastSize.set(sizeBytes);
  };

  async function collect(): Promise<PlainFile[]> {
    if (!opts.sqliteFile) {
      throw new BackupUnavailableError(
        'UNSUPPORTED_DATABASE',
        'backup sets include the SQLite database only; back up MySQL with its own dump (docs/operations.md)',
      );
    }
    const files: PlainFile[] = [];
    for (const nodeId of opts.nodeIds) {
      try {
        const snap = await opts.snapshots.snapshot(nodeId);
        files.push({ name: `nodes/${nodeId}.age`, kind: 'node', nodeId, bytes: encodeNodeBackup(snap) });
      } catch (err) {
        throw new BackupUnavailableError('NODE_UNAVAILABLE', `no snapshot from ${nodeId}: ${(err as Error).message}`);
      }
    }
    files.push({
      name: 'gateway/database.age',
      kind: 'gateway-database',
      bytes: await sqliteOnlineBackup(opts.sqliteFile),
    });
    const read = (path: string | undefined) => (path ? readFile(path).then((b) => new Uint8Array(b)) : undefined);
    const [masterKey, auditKey] = await Promise.all([read(opts.keyFiles.master), read(opts.keyFiles.audit)]);
    if (masterKey || auditKey) {
      const bytes = encodeGatewayKeys({ ...(masterKey && { masterKey }), ...(auditKey && { auditKey }) });
      files.push({ name: 'gateway/keys.age', kind: 'gateway-keys', bytes });
      masterKey?.fill(0);
      auditKey?.fill(0);
    }
    return files;
  }

  async function create(): Promise<BackupResult> {
    if (running) throw new BackupUnavailableError('IN_PROGRESS', 'a backup is already running');
    running = true;
    const started = performance.now();
    try {
      const at = now();
      const setId = newSetId(at);
      const files = await collect();
      const tls = opts.tls();
      const certificatePem = tls.cert.toString('utf8');
      const signer = { key: createPrivateKey(tls.key), certificatePem, cluster: identityOfCertificate(certificatePem) };
      const { objects } = await sealSet(setId, files, opts.recipients, signer, at);
      const sizeBytes = [...objects.values()].reduce((n, b) => n + b.length, 0);
      for (const store of opts.stores) {
        try {
          await uploadSet(store, objects);
        } catch (err) {
          throw new BackupUnavailableError(
            'STORE_UNAVAILABLE',
            `writing to ${store.name} failed: ${(err as Error).message}`,
          );
        }
      }
      const pruned: string[] = [];
      for (const store of opts.stores) pruned.push(...(await pruneSets(store, opts.retentionDays, at)));
      const durationMs = Math.round(performance.now() - started);
      succeeded(setId, at, sizeBytes);
      opts.metrics.backupDuration.set(durationMs / 1000);
      opts.metrics.backups.inc({ result: 'success' });
      opts.logger.info({ setId, sizeBytes, durationMs, pruned: pruned.length }, 'backup set written');
      return { setId, sizeBytes, durationMs, files: files.length, locations: opts.stores.map((s) => s.name), pruned };
    } catch (err) {
      status = { ...status, lastError: (err as Error).message };
      opts.metrics.backups.inc({ result: 'failure' });
      throw err;
    } finally {
      running = false;
    }
  }

  return {
    create,
    async list() {
      const primary = opts.stores[0]!;
      return { location: primary.name, sets: await listSets(primary) };
    },
    status: () => status,
    async loadStatus() {
      const latest = (await listSets(opts.stores[0]!)).filter((s) => s.complete).at(-1);
      if (latest && !status.lastSuccessAt) succeeded(latest.setId, new Date(latest.createdAt), latest.sizeBytes);
    },
  };
}

/** The `/ready` view of the status; pure. */
export function backupStatusView(s: BackupStatus, at: Date) {
  return {
    last_success_at: s.lastSuccessAt?.toISOString() ?? null,
    last_set_id: s.lastSetId ?? null,
    size_bytes: s.sizeBytes ?? null,
    age_seconds: s.lastSuccessAt ? Math.max(0, Math.round((at.getTime() - s.lastSuccessAt.getTime()) / 1000)) : null,
    last_error: s.lastError ?? null,
  };
}
