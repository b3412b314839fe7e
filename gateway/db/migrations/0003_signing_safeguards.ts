/**
 * Asymmetric client access keys (public half only); each key's sign policy as the holders agreed
 * it (the holder nodes keep the copy that counts); and every aborted MPC session with who, if
 * anyone, was proven to have caused it.
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
  await db.schema
    .createTable('mpc_aborts')
    .addColumn('session_id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('key_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('operation', 'varchar(16)', (c) => c.notNull())
    .addColumn('signers', 'varchar(255)', (c) => c.notNull())
    .addColumn('outcome', 'varchar(16)', (c) => c.notNull())
    .addColumn('node_id', 'varchar(64)')
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('mpc_aborts_key_idx').on('mpc_aborts').columns(['key_id', 'signers']).execute();
  await db.schema.createIndex('mpc_aborts_node_idx').on('mpc_aborts').columns(['node_id', 'created_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('mpc_aborts').execute();
  await db.schema.dropTable('key_sign_policies').execute();
  await db.schema.dropTable('client_public_keys').execute();
}
