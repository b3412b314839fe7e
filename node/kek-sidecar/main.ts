/**
 * PKCS#11 KEK sidecar (docs/hsm.md): derives its node's KEK inside the HSM once at start, then
 * hands it to the node over a Unix socket on a memory-backed volume. The PIN stays in this
 * process; the node never sees it. Any HSM failure stops the sidecar with a clear message.
 */
import { readFile } from 'node:fs/promises';
import { pino } from 'pino';
import { loadSidecarConfig } from './config.ts';
import { deriveKekInHsm } from './hsm.ts';
import { serveKek } from './server.ts';

const MAX_PIN_BYTES = 256;

async function readPin(path: string): Promise<string> {
  let content: Buffer;
  try {
    content = await readFile(path);
  } catch (err) {
    throw new Error(`cannot read the PIN file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    const pin = content.toString('utf8').replace(/(\r?\n)+$/, '');
    if (pin.length === 0 || content.length > MAX_PIN_BYTES)
      throw new Error(`the PIN file ${path} is empty or too long`);
    return pin;
  } finally {
    content.fill(0);
  }
}

async function main(): Promise<void> {
  const config = loadSidecarConfig(process.env);
  const log = pino({ name: 'kek-sidecar', level: config.logLevel, base: { node: config.nodeId } });
  const kek = deriveKekInHsm(config, await readPin(config.pinFile), config.nodeId);
  log.info({ token: config.tokenLabel, key: config.keyLabel }, 'KEK derived in the HSM');
  const server = await serveKek(config.socket, config.nodeId, kek, log).catch((err: unknown) => {
    kek.fill(0);
    throw err;
  });
  log.info({ socket: config.socket }, 'serving the KEK');
  const stop = (signal: string) => {
    log.info({ signal }, 'stopping');
    kek.fill(0);
    server.close(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: Error & { code?: string }) => {
  // HSM and config errors carry their own clear message; none holds the PIN or the KEK.
  console.error(`kek-sidecar: ${typeof err.code === 'string' ? `${err.code}: ` : ''}${err.message}`);
  process.exit(2);
});
