/**
 * Share versions and long-running key operations (docs/key-lifecycle.md): every key records the
 * share version its holders sign with, and each refresh is an operation whose row is the gateway's
 * durable side of the two-phase commit (`decided` is the commit point).
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('keys')
    .addColumn('share_version', 'integer', (c) => c.notNull().defaultTo(1))
    .execute();
  await db.schema
    .createTable('key_operations')
    .addColumn('operation_id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('key_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('from_version', 'integer', (c) => c.notNull())
    .addColumn('to_version', 'integer', (c) => c.notNull())
    .addColumn('decided', 'integer', (c) => c.notNull().defaultTo(sql`0`))
    .addColumn('request_id', 'varchar(64)')
    .addColumn('user_id', 'varchar(128)')
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('key_operations_key_idx').on('key_operations').columns(['key_id', 'status']).execute();
  await db.schema.createIndex('key_operations_status_idx').on('key_operations').columns(['status']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('key_operations').execute();
  await db.schema.alterTable('keys').dropColumn('share_version').execute();
}
