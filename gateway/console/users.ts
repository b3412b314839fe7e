/**
 * Console users: password (scrypt) and TOTP, roles as access keys have, lock-out after repeated
 * failures. The TOTP secret is sealed under the gateway master key like access key secrets.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { open, seal } from '../auth/secret-box.ts';
import { RolesSchema, type Role } from '../auth/roles.ts';
import { nowIso, type Db } from '../db/index.ts';
import type { ConsoleUserRow } from '../db/schema.ts';
import { decoyHash, hashPassword, MIN_PASSWORD_LENGTH, verifyPassword } from './password.ts';
import { decodeTotpSecret, matchTotp } from './totp.ts';

export const UsernameSchema = z.string().regex(/^[a-z][a-z0-9._-]{2,63}$/, 'username: 3-64 of a-z 0-9 . _ -');

/** One console user to provision at start (CUSTOS_CONSOLE_BOOTSTRAP_FILE); created only when absent. */
export const ConsoleUserFileSchema = z.object({
  username: UsernameSchema,
  password: z.string().min(MIN_PASSWORD_LENGTH),
  totp_secret: z.string().regex(/^[A-Z2-7]{16,}$/, 'totp_secret: base32'),
  roles: RolesSchema.default(['admin']),
});
export type ConsoleUserFile = z.input<typeof ConsoleUserFileSchema>;

export interface LockoutPolicy {
  /** Consecutive failures that lock the user. */
  maxFailures: number;
  lockSeconds: number;
}

export type LoginFailure = 'UNKNOWN_USER' | 'DISABLED' | 'LOCKED' | 'BAD_PASSWORD' | 'BAD_TOTP';
export type LoginOutcome = { ok: true; username: string; roles: Role[] } | { ok: false; reason: LoginFailure };

/** After a failure: the new count, and the lock's end once the count reaches the limit. */
export function afterFailure(
  failed: number,
  nowMs: number,
  policy: LockoutPolicy,
): { failed: number; lockedUntil: string | null } {
  const next = failed + 1;
  return next >= policy.maxFailures
    ? { failed: 0, lockedUntil: new Date(nowMs + policy.lockSeconds * 1000).toISOString() }
    : { failed: next, lockedUntil: null };
}

export function isLocked(row: Pick<ConsoleUserRow, 'locked_until'>, nowMs: number): boolean {
  return row.locked_until !== null && Date.parse(row.locked_until) > nowMs;
}

export interface ConsoleUserStore {
  create(user: ConsoleUserFile): Promise<void>;
  /** Creates the user from the file unless one of that name exists; true when created. */
  provision(file: string): Promise<{ username: string; created: boolean }>;
  login(username: string, password: string, code: string, nowMs?: number): Promise<LoginOutcome>;
  roles(username: string): Promise<Role[] | undefined>;
}

export function createConsoleUserStore(db: Db, masterKey: Uint8Array, policy: LockoutPolicy): ConsoleUserStore {
  const aad = (username: string) => `console_user:${username}`;

  async function fail(row: ConsoleUserRow, reason: LoginFailure, nowMs: number): Promise<LoginOutcome> {
    const next = afterFailure(Number(row.failed_logins), nowMs, policy);
    await db
      .updateTable('console_users')
      .set({ failed_logins: next.failed, locked_until: next.lockedUntil ?? row.locked_until })
      .where('username', '=', row.username)
      .execute();
    return { ok: false, reason };
  }

  const store: ConsoleUserStore = {
    async create(user) {
      const u = ConsoleUserFileSchema.parse(user);
      decodeTotpSecret(u.totp_secret);
      await db
        .insertInto('console_users')
        .values({
          username: u.username,
          password_hash: await hashPassword(u.password),
          totp_secret_enc: seal(masterKey, u.totp_secret, aad(u.username)),
          roles: JSON.stringify(u.roles),
          locked_until: null,
          totp_last_step: null,
          created_at: nowIso(),
        })
        .execute();
    },

    async provision(file) {
      const parsed = ConsoleUserFileSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
      if (!parsed.success) throw new Error(`console user file ${file}: ${z.prettifyError(parsed.error)}`);
      const exists = await db
        .selectFrom('console_users')
        .select('username')
        .where('username', '=', parsed.data.username)
        .executeTakeFirst();
      if (exists) return { username: parsed.data.username, created: false };
      await store.create(parsed.data);
      return { username: parsed.data.username, created: true };
    },

    async login(username, password, code, nowMs = Date.now()) {
      const row = UsernameSchema.safeParse(username).success
        ? await db.selectFrom('console_users').selectAll().where('username', '=', username).executeTakeFirst()
        : undefined;
      if (!row) {
        await verifyPassword(password, await decoyHash());
        return { ok: false, reason: 'UNKNOWN_USER' };
      }
      // A locked user is refused before the password is even tried: guesses during the lock teach nothing.
      if (isLocked(row, nowMs)) return { ok: false, reason: 'LOCKED' };
      if (!(await verifyPassword(password, row.password_hash))) return fail(row, 'BAD_PASSWORD', nowMs);
      const secret = decodeTotpSecret(open(masterKey, row.totp_secret_enc, aad(row.username)));
      const last = row.totp_last_step === null ? undefined : BigInt(row.totp_last_step);
      const step = matchTotp(secret, code.trim(), nowMs, last);
      if (step === undefined) return fail(row, 'BAD_TOTP', nowMs);
      if (!Number(row.enabled)) return { ok: false, reason: 'DISABLED' };
      // The step guard makes two concurrent logins with one code a single success.
      const res = await db
        .updateTable('console_users')
        .set({ failed_logins: 0, locked_until: null, totp_last_step: Number(step) })
        .where('username', '=', row.username)
        .where((eb) =>
          last === undefined ? eb('totp_last_step', 'is', null) : eb('totp_last_step', '=', Number(last)),
        )
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) return { ok: false, reason: 'BAD_TOTP' };
      return { ok: true, username: row.username, roles: RolesSchema.parse(JSON.parse(row.roles)) };
    },

    async roles(username) {
      const row = await db
        .selectFrom('console_users')
        .select(['roles', 'enabled'])
        .where('username', '=', username)
        .executeTakeFirst();
      return row && Number(row.enabled) ? RolesSchema.parse(JSON.parse(row.roles)) : undefined;
    },
  };
  return store;
}
