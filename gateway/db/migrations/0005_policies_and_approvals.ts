/**
 * Risk-control policies, four-eyes approvals, the sign events velocity rules count (shared by
 * every gateway replica through this database), and each holder's confirmation that it erased a
 * destroyed key's share.
 */
import { sql, type Kysely } from 'kysely';

/** Up to 16 MB on MySQL (TEXT stops at 64 KB, below the request body limit); SQLite reads it as TEXT. */
const LONG_TEXT = sql`mediumtext`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('policies')
    .addColumn('policy_id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(128)', (c) => c.notNull().unique())
    .addColumn('document', LONG_TEXT, (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('created_by', 'varchar(128)')
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('approvals')
    .addColumn('approval_id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('operation', 'varchar(32)', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('requester', 'varchar(128)', (c) => c.notNull())
    .addColumn('key_id', 'varchar(64)')
    .addColumn('reason', 'text')
    .addColumn('payload', LONG_TEXT, (c) => c.notNull())
    .addColumn('requirements', 'text', (c) => c.notNull())
    .addColumn('decisions', 'text', (c) => c.notNull())
    .addColumn('result', LONG_TEXT)
    .addColumn('error', 'text')
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('executed_by', 'varchar(64)')
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('expires_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('approvals_status_idx').on('approvals').columns(['status', 'created_at']).execute();
  await db.schema.createIndex('approvals_key_idx').on('approvals').columns(['key_id', 'created_at']).execute();
  await db.schema
    .createTable('sign_velocity')
    .addColumn('event_id', 'varchar(40)', (c) => c.primaryKey())
    .addColumn('key_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('access_key', 'varchar(128)', (c) => c.notNull())
    .addColumn('created_ms', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sign_velocity_key_idx').on('sign_velocity').columns(['key_id', 'created_ms']).execute();
  await db.schema
    .createIndex('sign_velocity_ak_idx')
    .on('sign_velocity')
    .columns(['access_key', 'created_ms'])
    .execute();
  await db.schema
    .createTable('key_destructions')
    .addColumn('key_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('node_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('had_share', 'integer', (c) => c.notNull())
    .addColumn('confirmed_at', 'varchar(32)', (c) => c.notNull())
    .addPrimaryKeyConstraint('key_destructions_pk', ['key_id', 'node_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('key_destructions').execute();
  await db.schema.dropTable('sign_velocity').execute();
  await db.schema.dropTable('approvals').execute();
  await db.schema.dropTable('policies').execute();
}
