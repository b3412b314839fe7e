import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { writeFileExclusive } from '../../common/pki/exclusive-file.ts';

/**
 * Reads a 32-byte secret from `path`, creating it (0600, random) on first use. A file of another
 * size is an error rather than being replaced: replacing would orphan what it protects.
 */
export async function loadOrCreateKeyFile(path: string): Promise<Uint8Array> {
  await writeFileExclusive(path, randomBytes(32), 0o600);
  const bytes = await readFile(path);
  if (bytes.length !== 32) throw new Error(`${path}: expected 32 bytes, found ${bytes.length}`);
  return new Uint8Array(bytes);
}
