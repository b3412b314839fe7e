/**
 * Starts a throwaway versitygw (an S3-compatible server over a POSIX directory; built by
 * hack/setup.d/25-s3.sh) on a loopback port, with one bucket, for the backup tests.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { ObjectStoreConfig } from '../../common/backup/object-store.ts';
import { freePort } from './free-port.ts';

const VERSION = process.env.VERSITYGW_VERSION ?? 'v1.8.0';
export const VERSITYGW = join(
  process.env.CUSTOS_CACHE ?? join(homedir(), '.cache', 'custos'),
  'bin',
  `versitygw-${VERSION}`,
);

export const s3ServerAvailable = (): boolean => existsSync(VERSITYGW);

export interface S3Server {
  readonly config: ObjectStoreConfig;
  /** The directory the server stores objects in (bucket = subdirectory). */
  readonly root: string;
  stop(): Promise<void>;
}

export async function startS3Server(bucket = 'custos-backups'): Promise<S3Server> {
  const root = mkdtempSync(join(tmpdir(), 'custos-s3-'));
  const sidecar = join(root, '.meta');
  mkdirSync(join(root, 'data'));
  mkdirSync(sidecar);
  const port = await freePort();
  const access = `AK${randomBytes(8).toString('hex')}`;
  const secret = randomBytes(24).toString('hex');
  const output: string[] = [];
  const child = spawn(
    VERSITYGW,
    [
      '--port',
      `127.0.0.1:${port}`,
      '--access',
      access,
      '--secret',
      secret,
      'posix',
      '--sidecar',
      sidecar,
      join(root, 'data'),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr.on('data', (d: Buffer) => output.push(d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const config: ObjectStoreConfig = {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    region: 'us-east-1',
    access_key_id: access,
    secret_access_key: secret,
    prefix: 'custos-backups/',
    force_path_style: true,
  };
  const client = new S3Client({
    endpoint: config.endpoint,
    region: config.region,
    forcePathStyle: true,
    credentials: { accessKeyId: access, secretAccessKey: secret },
  });
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`versitygw exited (${child.exitCode}): ${output.join('')}`);
    try {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`versitygw did not answer: ${(err as Error).message} ${output.join('')}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  client.destroy();
  return {
    config,
    root,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}
