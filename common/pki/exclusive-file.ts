import { randomBytes } from 'node:crypto';
import { link, mkdir, open, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Writes `data` to `path` atomically and only if `path` does not exist yet: the bytes go to a
 * temporary file in the same directory (fsynced, created with `mode`), which is then hard-linked
 * into place. link(2) fails with EEXIST instead of replacing, so an existing file is never
 * overwritten and a crash leaves either no file or the complete one, never a torn write.
 * Returns false when `path` already existed.
 */
export async function writeFileExclusive(path: string, data: Uint8Array | string, mode: number): Promise<boolean> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(tmp, 'wx', mode);
  let linked = false;
  try {
    try {
      await handle.writeFile(data);
      await handle.chmod(mode); // open() applies the umask; set the mode exactly
      await handle.sync();
    } finally {
      await handle.close();
    }
    await link(tmp, path);
    linked = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await unlink(tmp);
  }
  if (!linked) return false;
  await syncDirectory(dir);
  return true;
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
