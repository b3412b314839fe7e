/**
 * Restores the gateway's database and key files from a backup set while the gateway is stopped.
 * A database whose audit log is longer than the backup's holds newer history and is never
 * replaced silently: the restore is refused and nothing changes. Previous files are kept as
 * `*.pre-restore-<time>`.
 */
import Sqlite from 'better-sqlite3';
import { access, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GatewayKeys } from '../../common/backup/gateway-keys.ts';

export class GatewayRestoreRefusedError extends Error {
  readonly code = 'NEWER_DATA';
  constructor(message: string) {
    super(message);
    this.name = 'GatewayRestoreRefusedError';
  }
}

/** Entries in the audit log of the SQLite file at `path`; 0 when there is no such database. */
export function auditLength(path: string): number {
  let db: Sqlite.Database | undefined;
  try {
    db = new Sqlite(path, { readonly: true, fileMustExist: true });
    return Number((db.prepare('SELECT count(*) AS n FROM audit_log').get() as { n: number }).n);
  } catch {
    return 0;
  } finally {
    db?.close();
  }
}

export interface GatewayRestore {
  /** `$CUSTOS_HOME/gateway` */
  readonly dir: string;
  readonly database: Uint8Array;
  readonly keys?: GatewayKeys;
}

export async function restoreGatewayFiles(r: GatewayRestore): Promise<{ auditEntries: number; keptAs?: string }> {
  await mkdir(r.dir, { recursive: true, mode: 0o700 });
  const dbPath = join(r.dir, 'custos.db');
  const staging = `${dbPath}.restoring`;
  await writeFile(staging, r.database, { mode: 0o600 });
  const restored = auditLength(staging);
  const current = auditLength(dbPath);
  if (current > restored) {
    await rm(staging, { force: true });
    throw new GatewayRestoreRefusedError(
      `the gateway database holds ${current} audit entries, the backup ${restored}: it is newer, nothing was changed`,
    );
  }
  const suffix = `.pre-restore-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  let kept = false;
  const keep = async (path: string) => {
    if (!(await exists(path))) return;
    await rename(path, path + suffix);
    kept = true;
  };
  for (const f of ['custos.db', 'custos.db-wal', 'custos.db-shm']) await keep(join(r.dir, f));
  await rename(staging, dbPath);
  for (const [name, key] of [
    ['master.key', r.keys?.masterKey],
    ['audit.key', r.keys?.auditKey],
  ] as const) {
    if (!key) continue;
    await keep(join(r.dir, name));
    await writeFile(join(r.dir, name), key, { mode: 0o600 });
  }
  return kept ? { auditEntries: restored, keptAs: suffix } : { auditEntries: restored };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
