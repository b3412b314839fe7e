/** Access-key roles (gateway/auth/roles.ts): existing keys keep full power as admins. */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('access_keys')
    .addColumn('roles', 'varchar(255)', (c) => c.notNull().defaultTo('["admin"]'))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('access_keys').dropColumn('roles').execute();
}
