/**
 * A node's file in a backup set (before age encryption): its store snapshot exactly as the node
 * sent it (records still under its DEK), its wrapped DEK and the anchor for the snapshot's manifest.
 */
import { z } from 'zod';
import { NODE_ID_PATTERN } from '../pki/identity.ts';
import { BackupError } from './errors.ts';

const Base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);

export const NodeBackupSchema = z.strictObject({
  format: z.literal(1),
  node_id: z.string().regex(NODE_ID_PATTERN),
  wrapped_dek: Base64.min(1),
  anchor: Base64.min(1),
  share_versions: z.record(z.string(), z.number().int().nonnegative()),
  entries: z.array(z.tuple([z.string().min(1).max(256), Base64])),
});

export interface NodeBackup {
  readonly nodeId: string;
  readonly wrappedDek: Uint8Array;
  readonly anchor: Uint8Array;
  readonly shareVersions: ReadonlyMap<string, number>;
  readonly entries: ReadonlyArray<readonly [string, Uint8Array]>;
}

export function encodeNodeBackup(b: NodeBackup): Buffer {
  const b64 = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('base64');
  return Buffer.from(
    JSON.stringify({
      format: 1,
      node_id: b.nodeId,
      wrapped_dek: b64(b.wrappedDek),
      anchor: b64(b.anchor),
      share_versions: Object.fromEntries(b.shareVersions),
      entries: b.entries.map(([k, v]) => [k, b64(v)]),
    }),
  );
}

export function decodeNodeBackup(bytes: Uint8Array): NodeBackup {
  let parsed: z.infer<typeof NodeBackupSchema>;
  try {
    parsed = NodeBackupSchema.parse(JSON.parse(Buffer.from(bytes).toString('utf8')));
  } catch {
    throw new BackupError('MALFORMED', 'the node file does not decode');
  }
  const raw = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
  return {
    nodeId: parsed.node_id,
    wrappedDek: raw(parsed.wrapped_dek),
    anchor: raw(parsed.anchor),
    shareVersions: new Map(Object.entries(parsed.share_versions)),
    entries: parsed.entries.map(([k, v]) => [k, raw(v)] as const),
  };
}
