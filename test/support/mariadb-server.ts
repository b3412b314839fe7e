/**
 * Starts a throwaway MariaDB (Debian's mariadbd, installed by hack/setup.d/10-mariadb.sh) on a
 * loopback port in a temporary datadir, for the MySQL-dialect tests. Root has no password and
 * the server listens on 127.0.0.1 only; everything is deleted on stop.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createConnection } from 'mysql2/promise';
import { freePort } from './free-port.ts';

const MARIADBD = '/usr/sbin/mariadbd';

export const mariadbAvailable = (): boolean => existsSync(MARIADBD);

export interface MariaDbServer {
  /** A fresh, empty database; returns its mysql:// URL. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startMariaDb(): Promise<MariaDbServer> {
  const dir = mkdtempSync(join(tmpdir(), 'custos-mariadb-'));
  const user = process.getuid?.() === 0 ? 'root' : (process.env.USER ?? 'root');
  await promisify(execFile)('mariadb-install-db', [
    '--no-defaults',
    `--datadir=${join(dir, 'data')}`,
    `--user=${user}`,
    '--auth-root-authentication-method=normal',
    '--skip-test-db',
  ]);
  const port = await freePort();
  const child = spawn(
    MARIADBD,
    [
      '--no-defaults',
      `--datadir=${join(dir, 'data')}`,
      `--socket=${join(dir, 'mysqld.sock')}`,
      `--pid-file=${join(dir, 'mysqld.pid')}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--user=${user}`,
      '--skip-name-resolve',
      '--innodb-buffer-pool-size=32M',
      '--innodb-log-file-size=16M',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = (db = '') => `mysql://root@127.0.0.1:${port}/${db}`;

  // Wait until the server accepts connections (first start takes a few seconds).
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`mariadbd exited (${child.exitCode}): ${stderr}`);
    try {
      const conn = await createConnection(url());
      await conn.end();
      break;
    } catch (err) {
      if (attempt > 300) {
        child.kill('SIGKILL');
        throw new Error(`mariadbd did not accept connections: ${(err as Error).message}\n${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  return {
    async createDatabase(name) {
      const conn = await createConnection(url());
      try {
        await conn.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
      } finally {
        await conn.end();
      }
      return url(name);
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
