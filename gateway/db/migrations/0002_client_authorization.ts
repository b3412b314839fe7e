/**
 * Asymmetric client access keys (public half only) and each key's sign policy as the holders
 * agreed it. The holder nodes keep the authoritative copy; this one lets the gateway answer and
 * prepare policy changes.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('client_public_keys')
    .addColumn('access_key', 'varchar(128)', (c) => c.primaryKey())
    .addColumn('algorithm', 'varchar(16)', (c) => c.notNull())
    .addColumn('public_key', 'varchar(132)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('key_sign_policies')
    .addColumn('key_id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('policy', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('key_sign_policies').execute();
  await db.schema.dropTable('client_public_keys').execute();
}
