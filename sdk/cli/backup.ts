/**
 * `custos backup verify|restore`: run where the offline recovery identity is, reading the set
 * straight from object storage (the gateway never sees the identity). Verify checks every hash and
 * the manifest signature and decrypts every file in a scratch directory; restore writes one stopped
 * node's store from its file, refused when the node holds newer shares.
 */
import Sqlite from 'better-sqlite3';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { latestSet, readVerifiedSet } from '../../common/backup/backup-set.ts';
import { BackupError } from '../../common/backup/errors.ts';
import { decodeNodeBackup } from '../../common/backup/node-file.ts';
import { BackupTargetsSchema, s3ObjectStore, type ObjectStore } from '../../common/backup/object-store.ts';
import { pkiLayout } from '../../common/pki/dev-pki.ts';
import { identityOfCertificate } from '../../common/pki/identity.ts';
import { restoreNodeStore, RestoreRefusedError } from '../../node/storage/restore.ts';
import { dekFilePath, shareDbPath } from '../../node/storage/paths.ts';
import { decodeGatewayKeys } from '../../common/backup/gateway-keys.ts';
import { GatewayRestoreRefusedError, restoreGatewayFiles } from '../../gateway/backups/restore.ts';
import type { BackupSource } from './args.ts';
import { CliError } from './credentials.ts';

export interface BackupIo {
  env: Record<string, string | undefined>;
  cwd: string;
  readText: (path: string) => string;
}

/** `AGE-SECRET-KEY-1...` lines of an age identity file (comments and blank lines skipped); pure. */
export function parseIdentityFile(text: string): string[] {
  const ids = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  if (ids.length === 0 || ids.some((l) => !/^AGE-SECRET-KEY-(PQ-)?1[0-9A-Z]+$/.test(l))) {
    throw new CliError('the identity file holds no age identity (AGE-SECRET-KEY-1...)');
  }
  return ids;
}

interface Opened {
  readonly home: string;
  readonly store: ObjectStore;
  readonly identities: string[];
  readonly caPem: string;
}

function open(source: BackupSource, io: BackupIo): Opened {
  const home = resolve(io.cwd, source.home ?? io.env.CUSTOS_HOME ?? './.custos');
  const read = (what: string, path: string) => {
    try {
      return io.readText(resolve(io.cwd, path));
    } catch (err) {
      throw new CliError(
        `cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  };
  const targets = BackupTargetsSchema.safeParse(safeJson(read('--targets', source.targets)));
  if (!targets.success) throw new CliError(`--targets ${source.targets} is not a valid object store file`);
  return {
    home,
    store: s3ObjectStore(source.location, targets.data[source.location]),
    identities: parseIdentityFile(read('--identity', source.identity)),
    caPem: read('the cluster CA', source.ca ?? pkiLayout(home, 'gateway').caCert),
  };
}

async function setIdOrLatest(store: ObjectStore, setId: string | undefined): Promise<string> {
  const id = setId ?? (await latestSet(store));
  if (!id) throw new CliError(`no complete backup set in the ${store.name} store`);
  return id;
}

/** Verifies a whole set; returns what it checked. Throws CliError naming the fault. */
export async function verifyBackup(setId: string | undefined, source: BackupSource, io: BackupIo) {
  const { store, identities, caPem } = open(source, io);
  const id = await setIdOrLatest(store, setId);
  const { manifest, files } = await refusing(() => readVerifiedSet(store, id, { caPem, identities }));
  const scratch = await mkdtemp(join(tmpdir(), 'custos-verify-'));
  try {
    for (const file of manifest.files) {
      const bytes = files.get(file.name)!;
      const path = join(scratch, file.name.replace('/', '_').replace(/\.age$/, ''));
      await writeFile(path, bytes, { mode: 0o600 });
      if (file.kind === 'node') {
        const node = await refusing(async () => decodeNodeBackup(bytes));
        if (node.nodeId !== file.node_id) throw new CliError(`${file.name} holds node ${node.nodeId}`);
      } else if (file.kind === 'gateway-keys') {
        await refusing(async () => decodeGatewayKeys(bytes));
      } else {
        checkSqlite(path, file.name);
      }
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return {
    set_id: id,
    location: store.name,
    created_at: manifest.created_at,
    cluster: `${manifest.cluster.namespace}/${manifest.cluster.cluster}`,
    files: manifest.files.map((f) => ({ name: f.name, size: f.size, sha256: f.sha256 })),
    verified: true,
  };
}

/** Restores one node's store from a set; the node must be stopped. */
export async function restoreNode(setId: string | undefined, nodeId: string, source: BackupSource, io: BackupIo) {
  const { home, store, identities, caPem } = open(source, io);
  const certPath = pkiLayout(home, nodeId).cert;
  let certPem: string;
  try {
    certPem = io.readText(certPath);
  } catch {
    throw new CliError(`cannot read ${certPath}: the node's certificate names the cluster to restore into`);
  }
  const own = identityOfCertificate(certPem);
  if (own.kind !== 'node' || own.id !== nodeId) throw new CliError(`${certPath} does not name node ${nodeId}`);
  const id = await setIdOrLatest(store, setId);
  const name = `nodes/${nodeId}.age`;
  const { manifest, files } = await refusing(() =>
    readVerifiedSet(store, id, { caPem, identities, expected: own, only: (f) => f.name === name }),
  );
  const bytes = files.get(name);
  if (!bytes) throw new CliError(`backup set ${id} holds no snapshot of ${nodeId}`);
  const node = await refusing(async () => decodeNodeBackup(bytes));
  if (node.nodeId !== nodeId) throw new CliError(`${name} holds node ${node.nodeId}, not ${nodeId}`);
  const dataDir = shareDbPath(home, nodeId);
  const started = performance.now();
  try {
    const { keptAs } = await restoreNodeStore({
      dataDir,
      anchorPath: `${dataDir}.anchor`,
      dekPath: dekFilePath(home, nodeId),
      entries: node.entries,
      anchor: node.anchor,
      wrappedDek: node.wrappedDek,
    });
    return {
      set_id: id,
      created_at: manifest.created_at,
      node_id: nodeId,
      shares: node.shareVersions.size,
      data_dir: dataDir,
      previous_files_kept_as: keptAs ?? null,
      restore_ms: Math.round(performance.now() - started),
      next: `start ${nodeId} and unseal it with its password`,
    };
  } catch (err) {
    if (err instanceof RestoreRefusedError) throw new CliError(`${err.code}: ${err.message}`);
    throw err;
  }
}

/** Restores the gateway's database and key files from a set; the gateway must be stopped. */
export async function restoreGateway(setId: string | undefined, source: BackupSource, io: BackupIo) {
  const { home, store, identities, caPem } = open(source, io);
  const certPath = pkiLayout(home, 'gateway').cert;
  let certPem: string;
  try {
    certPem = io.readText(certPath);
  } catch {
    throw new CliError(`cannot read ${certPath}: the gateway's certificate names the cluster to restore into`);
  }
  const own = identityOfCertificate(certPem);
  const id = await setIdOrLatest(store, setId);
  const { manifest, files } = await refusing(() =>
    readVerifiedSet(store, id, { caPem, identities, expected: own, only: (f) => f.name.startsWith('gateway/') }),
  );
  const database = files.get('gateway/database.age');
  if (!database) throw new CliError(`backup set ${id} holds no gateway database`);
  const keysFile = files.get('gateway/keys.age');
  const keys = keysFile ? await refusing(async () => decodeGatewayKeys(keysFile)) : undefined;
  try {
    const { auditEntries, keptAs } = await restoreGatewayFiles({
      dir: join(home, 'gateway'),
      database,
      ...(keys && { keys }),
    });
    return {
      set_id: id,
      created_at: manifest.created_at,
      gateway: true,
      audit_entries: auditEntries,
      key_files: keys ? Object.keys(keys).length : 0,
      previous_files_kept_as: keptAs ?? null,
      next: 'start the gateway',
    };
  } catch (err) {
    if (err instanceof GatewayRestoreRefusedError) throw new CliError(`${err.code}: ${err.message}`);
    throw err;
  }
}

/** Runs `f`, turning a refused backup into a CliError with its code. */
async function refusing<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof BackupError) throw new CliError(`backup refused: ${err.code}: ${err.message}`);
    throw err;
  }
}

function checkSqlite(path: string, name: string): void {
  let db: Sqlite.Database | undefined;
  try {
    db = new Sqlite(path, { readonly: true, fileMustExist: true });
    const result = db.pragma('integrity_check', { simple: true });
    if (result !== 'ok') throw new Error(String(result));
    db.prepare('SELECT count(*) FROM audit_log').get();
  } catch (err) {
    throw new CliError(`${name} is not a sound gateway database: ${(err as Error).message}`);
  } finally {
    db?.close();
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
