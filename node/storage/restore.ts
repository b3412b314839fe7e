/**
 * Restores a node's share store from a backup snapshot while the node is stopped. Share versions
 * decide: a store that holds a share newer than the backup's, or a share the backup lacks, is
 * refused and left untouched. The new database is written beside the old one and swapped in by
 * rename; the old database, anchor and `.dek` are kept as `*.pre-restore-<time>`.
 */
import { ClassicLevel } from 'classic-level';
import { access, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeAnchor } from './manifest.ts';
import { readVersion } from './share-store.ts';

const SHARE_PREFIX = 'share/';

export class RestoreRefusedError extends Error {
  constructor(
    readonly code: 'NEWER_SHARES' | 'NODE_RUNNING',
    message: string,
  ) {
    super(message);
    this.name = 'RestoreRefusedError';
  }
}

export interface NodeRestore {
  readonly dataDir: string;
  readonly anchorPath: string;
  readonly dekPath: string;
  readonly entries: ReadonlyArray<readonly [string, Uint8Array]>;
  readonly anchor: Uint8Array;
  readonly wrappedDek: Uint8Array;
}

/** Shares the current store holds that the backup would make older or drop; pure. */
export function sharesNewerThanBackup(
  current: ReadonlyMap<string, number>,
  backup: ReadonlyMap<string, number>,
): string[] {
  return [...current]
    .filter(([keyId, version]) => (backup.get(keyId) ?? -1) < version)
    .map(
      ([keyId, version]) => `${keyId} v${version} (backup: ${backup.has(keyId) ? `v${backup.get(keyId)}` : 'none'})`,
    );
}

/** Key id -> share version in the clear record headers of the store at `dir`; empty when there is none. */
export async function storedShareVersions(dir: string): Promise<Map<string, number>> {
  const versions = new Map<string, number>();
  if (!(await exists(dir))) return versions;
  const db = new ClassicLevel<string, Uint8Array>(dir, {
    keyEncoding: 'utf8',
    valueEncoding: 'view',
    createIfMissing: false,
  });
  try {
    await db.open();
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    if (cause?.code === 'LEVEL_LOCKED') {
      throw new RestoreRefusedError('NODE_RUNNING', `${dir} is in use: stop the node before restoring`);
    }
    // Not a database (e.g. an empty directory left by a wipe): nothing to protect.
    return versions;
  }
  try {
    for await (const [key, value] of db.iterator({ gt: SHARE_PREFIX, lt: 'share0' })) {
      versions.set(key.slice(SHARE_PREFIX.length), value.length >= 5 ? readVersion(value) : 0);
    }
  } finally {
    await db.close();
  }
  return versions;
}

/** Key id -> share version of the snapshot's entries; pure. */
export function snapshotShareVersions(entries: ReadonlyArray<readonly [string, Uint8Array]>): Map<string, number> {
  return new Map(
    entries.filter(([k]) => k.startsWith(SHARE_PREFIX)).map(([k, v]) => [k.slice(SHARE_PREFIX.length), readVersion(v)]),
  );
}

/** Writes the snapshot as the node's store. Returns the suffix the previous files were kept under, if any. */
export async function restoreNodeStore(r: NodeRestore): Promise<{ keptAs?: string }> {
  const newer = sharesNewerThanBackup(await storedShareVersions(r.dataDir), snapshotShareVersions(r.entries));
  if (newer.length > 0) {
    throw new RestoreRefusedError(
      'NEWER_SHARES',
      `the node holds shares newer than the backup, nothing was changed: ${newer.slice(0, 5).join(', ')}${newer.length > 5 ? ` and ${newer.length - 5} more` : ''}`,
    );
  }
  const staging = `${r.dataDir.replace(/\/+$/, '')}.restoring`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(dirname(staging), { recursive: true, mode: 0o700 });
  const db = new ClassicLevel<string, Uint8Array>(staging, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  try {
    for (let i = 0; i < r.entries.length; i += 1000) {
      const ops = r.entries.slice(i, i + 1000).map(([key, value]) => ({ type: 'put' as const, key, value }));
      await db.batch(ops, { sync: true });
    }
  } finally {
    await db.close();
  }

  const suffix = `.pre-restore-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  let kept = false;
  const keep = async (path: string) => {
    if (!(await exists(path))) return;
    await rename(path, path + suffix);
    kept = true;
  };
  await keep(r.dataDir);
  await rename(staging, r.dataDir);
  await keep(r.anchorPath);
  await writeAnchor(r.anchorPath, r.anchor);
  const currentDek = await readFile(r.dekPath).catch(() => undefined);
  if (!currentDek || !currentDek.equals(Buffer.from(r.wrappedDek))) {
    await keep(r.dekPath);
    await mkdir(dirname(r.dekPath), { recursive: true, mode: 0o700 });
    await writeFile(r.dekPath, r.wrappedDek, { mode: 0o600 });
  }
  return kept ? { keptAs: suffix } : {};
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
