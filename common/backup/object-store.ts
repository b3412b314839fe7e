/**
 * The S3-compatible object store a backup set is written to, through the AWS SDK for JavaScript
 * v3. One instance per location (primary, DR); the prefix keeps Custos's sets apart from other
 * data in the bucket.
 */
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { z } from 'zod';

export const ObjectStoreConfigSchema = z.strictObject({
  endpoint: z.url(),
  bucket: z.string().min(3).max(63),
  region: z.string().min(1).default('us-east-1'),
  access_key_id: z.string().min(1),
  secret_access_key: z.string().min(1),
  prefix: z
    .string()
    .regex(/^([A-Za-z0-9._-]+\/)*$/)
    .default('custos-backups/'),
  /** Path-style URLs (`endpoint/bucket/key`): what most self-hosted S3 servers expect. */
  force_path_style: z.boolean().default(true),
});
export type ObjectStoreConfig = z.infer<typeof ObjectStoreConfigSchema>;

/** Where backup sets go: a primary location and a second one in another region or site. */
export const BackupTargetsSchema = z.strictObject({
  primary: ObjectStoreConfigSchema,
  dr: ObjectStoreConfigSchema,
});
export type BackupTargets = z.infer<typeof BackupTargetsSchema>;

export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
}

export interface ObjectStore {
  readonly name: string;
  put(key: string, body: Uint8Array): Promise<void>;
  /** The object's bytes, or undefined when it does not exist. */
  get(key: string): Promise<Uint8Array | undefined>;
  list(prefix: string): Promise<ObjectInfo[]>;
  delete(keys: readonly string[]): Promise<void>;
}

export function s3ObjectStore(name: string, config: ObjectStoreConfig): ObjectStore {
  const client = new S3Client({
    endpoint: config.endpoint,
    region: config.region,
    forcePathStyle: config.force_path_style,
    // Integrity is the manifest's SHA-256 check, which names the file at fault; the SDK's own
    // CRC check would throw a generic error first.
    responseChecksumValidation: 'WHEN_REQUIRED',
    credentials: { accessKeyId: config.access_key_id, secretAccessKey: config.secret_access_key },
  });
  const Bucket = config.bucket;
  const full = (key: string) => config.prefix + key;
  return {
    name,
    async put(key, body) {
      await client.send(new PutObjectCommand({ Bucket, Key: full(key), Body: body }));
    },
    async get(key) {
      try {
        const out = await client.send(new GetObjectCommand({ Bucket, Key: full(key) }));
        return out.Body ? await out.Body.transformToByteArray() : new Uint8Array();
      } catch (err) {
        if (err instanceof NoSuchKey || (err as { name?: string }).name === 'NoSuchKey') return undefined;
        throw err;
      }
    },
    async list(prefix) {
      const found: ObjectInfo[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket, Prefix: full(prefix), ContinuationToken: token }),
        );
        for (const o of page.Contents ?? []) {
          if (o.Key) found.push({ key: o.Key.slice(config.prefix.length), size: o.Size ?? 0 });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return found;
    },
    async delete(keys) {
      for (let i = 0; i < keys.length; i += 1000) {
        await client.send(
          new DeleteObjectsCommand({
            Bucket,
            Delete: { Objects: keys.slice(i, i + 1000).map((k) => ({ Key: full(k) })), Quiet: true },
          }),
        );
      }
    },
  };
}
