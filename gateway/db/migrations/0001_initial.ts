/**
 * The initial schema. Column types are the portable subset of SQLite and MySQL: varchar for
 * anything indexed (MySQL cannot index unbounded text), text for JSON, blob for bytes.
 */
import { MysqlAdapter, sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('keys')
    .addColumn('key_id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('label', 'varchar(255)')
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('algo', 'varchar(16)', (c) => c.notNull())
    .addColumn('curve', 'varchar(16)', (c) => c.notNull())
    .addColumn('shard_count', 'integer', (c) => c.notNull())
    .addColumn('threshold', 'integer', (c) => c.notNull())
    .addColumn('public_key', 'varchar(512)', (c) => c.notNull())
    .addColumn('public_info', 'blob', (c) => c.notNull())
    .addColumn('address', 'varchar(255)', (c) => c.notNull())
    .addColumn('addresses', 'text', (c) => c.notNull())
    .addColumn('shard_nodes', 'text', (c) => c.notNull())
    .addColumn('idempotency_key', 'varchar(255)', (c) => c.unique())
    .addColumn('request_hash', 'varchar(64)')
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('keys_label_idx').on('keys').column('label').execute();
  await db.schema.createIndex('keys_status_idx').on('keys').column('status').execute();
  await db.schema.createIndex('keys_created_idx').on('keys').columns(['created_at', 'key_id']).execute();

  await db.schema
    .createTable('access_keys')
    .addColumn('access_key', 'varchar(128)', (c) => c.primaryKey())
    .addColumn('secret_key_enc', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('allowed_cidrs', 'text', (c) => c.notNull())
    .addColumn('description', 'varchar(255)')
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('audit_log')
    .addColumn('seq', 'bigint', (c) => c.primaryKey())
    .addColumn('request_id', 'varchar(64)')
    .addColumn('user_id', 'varchar(128)')
    .addColumn('key_id', 'varchar(64)')
    .addColumn('operation', 'varchar(32)', (c) => c.notNull())
    .addColumn('result', 'varchar(16)', (c) => c.notNull())
    .addColumn('error_code', 'varchar(64)')
    .addColumn('created_time', 'varchar(32)', (c) => c.notNull())
    .addColumn('service_name', 'varchar(64)', (c) => c.notNull())
    .addColumn('node_id', 'varchar(255)')
    .addColumn('duration_ms', 'integer')
    .addColumn('data_hash', 'varchar(64)')
    .addColumn('audit_trail', 'text', (c) => c.notNull())
    .addColumn('prev_hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('entry_hash', 'varchar(64)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('audit_key_idx').on('audit_log').column('key_id').execute();
  await db.schema.createIndex('audit_time_idx').on('audit_log').column('created_time').execute();

  await db.schema
    .createTable('audit_checkpoints')
    .addColumn('seq', 'bigint', (c) => c.primaryKey())
    .addColumn('entry_hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('signature', 'varchar(128)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .execute();

  // MySQL compares text case-insensitively by default; ids, labels and hashes must compare
  // byte for byte as they do in SQLite.
  if (db.getExecutor().adapter instanceof MysqlAdapter) {
    for (const table of ['keys', 'access_keys', 'audit_log', 'audit_checkpoints']) {
      await sql`alter table ${sql.table(table)} convert to character set utf8mb4 collate utf8mb4_bin`.execute(db);
    }
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['audit_checkpoints', 'audit_log', 'access_keys', 'keys']) {
    await db.schema.dropTable(table).execute();
  }
}
