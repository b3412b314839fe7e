/**
 * Access-key management (name, scopes, a rotated-out secret valid for a grace period), a lock row
 * that serialises audit appends across gateway replicas, and triggers that refuse UPDATE and
 * DELETE on the audit tables (gateway/README.md "Audit log").
 */
import { MysqlAdapter, sql, type Kysely } from 'kysely';

const AUDIT_TABLES = ['audit_log', 'audit_checkpoints'] as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('access_keys').addColumn('name', 'varchar(128)').execute();
  // JSON array of scopes (gateway/auth/scopes.ts); NULL, like [], means every key.
  await db.schema.alterTable('access_keys').addColumn('scopes', 'text').execute();
  await db.schema.alterTable('access_keys').addColumn('previous_secret_enc', 'text').execute();
  await db.schema.alterTable('access_keys').addColumn('previous_secret_expires_at', 'varchar(32)').execute();

  await db.schema
    .createTable('audit_head')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .execute();
  await db
    .insertInto('audit_head' as never)
    .values({ id: 1 } as never)
    .execute();

  await db.schema.createIndex('audit_operation_idx').on('audit_log').columns(['operation', 'seq']).execute();
  await db.schema.createIndex('audit_user_idx').on('audit_log').columns(['user_id', 'seq']).execute();

  const mysql = db.getExecutor().adapter instanceof MysqlAdapter;
  if (mysql) {
    await sql`alter table audit_head convert to character set utf8mb4 collate utf8mb4_bin`.execute(db);
  }
  for (const table of AUDIT_TABLES) {
    for (const op of ['update', 'delete'] as const) {
      const name = sql.raw(`${table}_no_${op}`);
      const message = sql.lit(`${table} is append-only: ${op.toUpperCase()} refused`);
      if (mysql) {
        await sql`create trigger ${name} before ${sql.raw(op)} on ${sql.table(table)} for each row
          signal sqlstate '45000' set message_text = ${message}`.execute(db);
      } else {
        await sql`create trigger ${name} before ${sql.raw(op)} on ${sql.table(table)}
          begin select raise(abort, ${message}); end`.execute(db);
      }
    }
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of AUDIT_TABLES) {
    for (const op of ['update', 'delete'])
      await sql`drop trigger if exists ${sql.raw(`${table}_no_${op}`)}`.execute(db);
  }
  await db.schema.dropIndex('audit_user_idx').on('audit_log').execute();
  await db.schema.dropIndex('audit_operation_idx').on('audit_log').execute();
  await db.schema.dropTable('audit_head').execute();
  for (const column of ['previous_secret_expires_at', 'previous_secret_enc', 'scopes', 'name']) {
    await db.schema.alterTable('access_keys').dropColumn(column).execute();
  }
}
