/**
 * Where a node's unseal password comes from (README "Shares at rest"): a mounted Secret file, an
 * environment variable (dev mode only: environments leak into process listings, crash dumps and
 * child processes), or typed at the terminal with echo off. The result is a Uint8Array the caller
 * owns and zeroes once the DEK is unwrapped.
 */
import { openSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { ReadStream } from 'node:tty';

export interface UnsealPasswordOptions {
  /** Path of a file holding the password (e.g. a mounted Kubernetes Secret); trailing newlines are trimmed. */
  readonly file?: string;
  /** Name of an environment variable holding the password; refused unless devMode. */
  readonly env?: string;
  readonly devMode: boolean;
  /** Prompt at the controlling terminal when no file or variable is configured. */
  readonly tty?: boolean;
}

export type UnsealPasswordErrorCode = 'NO_SOURCE' | 'ENV_REFUSED' | 'UNREADABLE' | 'INVALID' | 'NO_TTY' | 'CANCELLED';

export class UnsealPasswordError extends Error {
  constructor(
    readonly code: UnsealPasswordErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'UnsealPasswordError';
  }
}

export const MAX_PASSWORD_BYTES = 1024;

/** Sources in order: file, then environment variable, then terminal. */
export async function readUnsealPassword(opts: UnsealPasswordOptions): Promise<Uint8Array> {
  if (opts.file !== undefined) return readPasswordFile(opts.file);
  if (opts.env !== undefined) {
    if (!opts.devMode) {
      throw new UnsealPasswordError(
        'ENV_REFUSED',
        `refusing to read the unseal password from $${opts.env} outside dev mode; mount it as a file or type it`,
      );
    }
    const value = process.env[opts.env];
    if (value === undefined) throw new UnsealPasswordError('UNREADABLE', `$${opts.env} is not set`);
    return checked(new TextEncoder().encode(value), `$${opts.env}`);
  }
  if (opts.tty) {
    if (!process.stdin.isTTY) throw new UnsealPasswordError('NO_TTY', 'stdin is not a terminal; cannot prompt');
    return promptAtTerminal('Unseal password: ');
  }
  throw new UnsealPasswordError('NO_SOURCE', 'no unseal password source: give a password file or run at a terminal');
}

async function readPasswordFile(path: string): Promise<Uint8Array> {
  let content: Buffer;
  try {
    const handle = await open(path, 'r');
    try {
      if ((await handle.stat()).size > MAX_PASSWORD_BYTES + 2) {
        throw new UnsealPasswordError('INVALID', `${path} is larger than ${MAX_PASSWORD_BYTES} bytes`);
      }
      content = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (err instanceof UnsealPasswordError) throw err;
    throw new UnsealPasswordError('UNREADABLE', `cannot read ${path} (${(err as NodeJS.ErrnoException).code})`);
  }
  let end = content.length;
  while (end > 0 && (content[end - 1] === 0x0a || content[end - 1] === 0x0d)) end--;
  const password = Uint8Array.from(content.subarray(0, end));
  content.fill(0);
  return checked(password, path);
}

function checked(password: Uint8Array, source: string): Uint8Array {
  if (password.length === 0) throw new UnsealPasswordError('INVALID', `the password from ${source} is empty`);
  if (password.length > MAX_PASSWORD_BYTES) {
    password.fill(0);
    throw new UnsealPasswordError('INVALID', `the password from ${source} is longer than ${MAX_PASSWORD_BYTES} bytes`);
  }
  return password;
}

const ENTER = new Set([0x0a, 0x0d]);
const CTRL_C = 0x03;
const CTRL_D = 0x04;
const CTRL_U = 0x15;
const BACKSPACE = new Set([0x08, 0x7f]);

/**
 * Reads one line from /dev/tty in raw mode, so nothing is echoed and the bytes never pass through a
 * JS string. Backspace removes a whole UTF-8 character, Ctrl-U clears, Ctrl-C/Ctrl-D cancel.
 */
function promptAtTerminal(prompt: string): Promise<Uint8Array> {
  let fd: number;
  try {
    fd = openSync('/dev/tty', 'r+');
  } catch (err) {
    throw new UnsealPasswordError('NO_TTY', `cannot open /dev/tty (${(err as NodeJS.ErrnoException).code})`);
  }
  const input = new ReadStream(fd); // owns fd from here on: destroy() closes it
  const typed = new Uint8Array(MAX_PASSWORD_BYTES);
  let length = 0;

  return new Promise<Uint8Array>((resolve, reject) => {
    const finish = (outcome: { error: UnsealPasswordError } | { done: true }) => {
      input.off('data', onData);
      input.setRawMode(false);
      writeSync(fd, '\n');
      input.destroy();
      const password = typed.slice(0, length);
      typed.fill(0);
      if ('error' in outcome) {
        password.fill(0);
        reject(outcome.error);
        return;
      }
      try {
        resolve(checked(password, 'the terminal'));
      } catch (err) {
        reject(err as Error);
      }
    };
    /** Applies one typed byte; returns how the entry ended, or undefined to keep reading. */
    const apply = (byte: number): Parameters<typeof finish>[0] | undefined => {
      if (ENTER.has(byte)) return { done: true };
      if (byte === CTRL_C || (byte === CTRL_D && length === 0)) {
        return { error: new UnsealPasswordError('CANCELLED', 'password entry cancelled') };
      }
      if (BACKSPACE.has(byte)) {
        // Drop UTF-8 continuation bytes (10xxxxxx), then the lead byte.
        while (length > 0 && ((typed[length - 1] as number) & 0xc0) === 0x80) typed[--length] = 0;
        if (length > 0) typed[--length] = 0;
      } else if (byte === CTRL_U) {
        typed.fill(0, 0, length);
        length = 0;
      } else if (length === typed.length) {
        return { error: new UnsealPasswordError('INVALID', `the password is longer than ${MAX_PASSWORD_BYTES} bytes`) };
      } else if (byte >= 0x20 || byte === 0x09) {
        typed[length++] = byte;
      }
      return undefined;
    };
    const onData = (chunk: Buffer) => {
      let outcome: Parameters<typeof finish>[0] | undefined;
      for (const byte of chunk) {
        outcome = apply(byte);
        if (outcome) break;
      }
      chunk.fill(0);
      if (outcome) finish(outcome);
    };
    try {
      input.setRawMode(true);
      writeSync(fd, prompt);
    } catch (err) {
      input.destroy();
      reject(new UnsealPasswordError('NO_TTY', `cannot prompt at the terminal: ${(err as Error).message}`));
      return;
    }
    input.on('data', onData);
  });
}
