/**
 * Opens the metadata database: SQLite (better-sqlite3, WAL) by default, MySQL when the URL says
 * mysql://. Callers get the same Kysely<Database> either way.
 */
import Sqlite from 'better-sqlite3';
import { Kysely, Migrator, MysqlDialect, SqliteDialect, type Migration, type MigrationProvider } from 'kysely';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createPool } from 'mysql2';
import * as m0001 from './migrations/0001_initial.ts';
import * as m0002 from './migrations/0002_access_key_roles.ts';
import * as m0003 from './migrations/0003_signing_safeguards.ts';
import * as m0004 from './migrations/0004_access_governance.ts';
import * as m0005 from './migrations/0005_policies_and_approvals.ts';
import * as m0006 from './migrations/0006_key_refresh.ts';
import * as m0009 from './migrations/0009_console_users.ts';
import type { Database } from './schema.ts';

export type { Database } from './schema.ts';
export type Db = Kysely<Database>;

/** Migrations as TS modules, listed here so they bundle and type-check with the code. */
const MIGRATIONS: Record<string, Migration> = {
  '0001_initial': m0001,
  '0002_access_key_roles': m0002,
  '0003_signing_safeguards': m0003,
  '0004_access_governance': m0004,
  '0005_policies_and_approvals': m0005,
  '0006_key_refresh': m0006,
  '0009_console_users': m0009,
};

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

/** The database URL in effect: the configured one, else a SQLite file under `home`. */
export function databaseUrl(opts: { url?: string; home: string }): string {
  return opts.url ?? `sqlite:${join(opts.home, 'gateway', 'custos.db')}`;
}

/** `sqlite:<path>` or `mysql://...`; without a URL, a SQLite file under `home`. */
export function openDatabase(opts: { url?: string; home: string }): Db {
  const url = databaseUrl(opts);
  if (url.startsWith('mysql://')) {
    // Timestamps are stored as ISO strings, so the session time zone does not matter.
    return new Kysely<Database>({
      dialect: new MysqlDialect({ pool: createPool({ uri: url, connectionLimit: 10, charset: 'utf8mb4' }) }),
    });
  }
  if (!url.startsWith('sqlite:')) throw new Error('database url must start with sqlite: or mysql://');
  const file = url.slice('sqlite:'.length);
  if (file !== ':memory:') {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    // Owner-only from the first byte; SQLite gives the -wal and -shm files the same mode.
    closeSync(openSync(file, 'a', 0o600));
  }
  const sqlite = new Sqlite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
}

/** Brings the schema to the latest migration; throws with the failing migration's error. */
export async function migrateToLatest(db: Db): Promise<void> {
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Current time as stored in every timestamp column. */
export function nowIso(): string {
  return new Date().toISOString();
}
