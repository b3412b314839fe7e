/** The dev credentials file ($CUSTOS_HOME/credentials.json): where it is and what it must hold. */
import { isAbsolute, join, resolve } from 'node:path';
import { ClientKeyCredentialsFileSchema, CredentialsFileSchema } from '../../common/api/schemas.ts';
import type { AnyCredentialsFile } from '../../common/api/schemas.ts';

/** A problem with the CLI's own inputs (not the gateway's answer): exit code 1, one line. */
export class CliError extends Error {
  override readonly name = 'CliError';
}

/** --credentials wins; else $CUSTOS_HOME/credentials.json, CUSTOS_HOME defaulting to ./.custos. */
export function credentialsPath(
  flag: string | undefined,
  env: Record<string, string | undefined>,
  cwd: string,
): string {
  if (flag !== undefined) return resolve(cwd, flag);
  const home = env.CUSTOS_HOME || '.custos';
  return join(isAbsolute(home) ? home : resolve(cwd, home), 'credentials.json');
}

/**
 * Validates the file's text. Messages name the file and the faulty fields but never quote the
 * content: it holds the secret key (JSON.parse's own message would echo a piece of it).
 */
export function parseCredentials(text: string, path: string): AnyCredentialsFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliError(`credentials file ${path} is not valid JSON`);
  }
  // A private_key makes it an asymmetric key's file; otherwise the HMAC form, with its field names in errors.
  const asymmetric = typeof json === 'object' && json !== null && 'private_key' in json;
  const parsed = (asymmetric ? ClientKeyCredentialsFileSchema : CredentialsFileSchema).safeParse(json);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new CliError(`credentials file ${path} is malformed (${fields})`);
  }
  return parsed.data;
}

export function loadCredentials(path: string, readText: (path: string) => string): AnyCredentialsFile {
  let text: string;
  try {
    text = readText(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new CliError(`credentials file ${path} not found; run "make run" to create it, or pass --credentials FILE`);
    }
    throw new CliError(`cannot read credentials file ${path}: ${code ?? (err as Error).message}`);
  }
  return parseCredentials(text, path);
}
