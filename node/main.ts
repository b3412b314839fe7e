/**
 * TSS node entry point. Serves health at once (reporting sealed), unseals with the password
 * (a mounted Secret file, a TTY, or in dev mode only an environment variable) or, with
 * CUSTOS_KEK_SOCKET, with the KEK from the PKCS#11 sidecar (docs/hsm.md), then opens the encrypted
 * share store and accepts sessions. A wrong password or KEK or a tampered file stops the node.
 */
import { readFile } from 'node:fs/promises';
import { pino, type Logger } from 'pino';
import { devTlsPaths, ReloadingTls, secretTlsPaths } from '../common/pki/tls-files.ts';
import { builtinSchemes } from '../common/protocols/registry.ts';
import { loadNodeConfig, type NodeConfig } from './config.ts';
import { openPreParamsPool } from './preparams/encrypted-store.ts';
import type { PreParamsPool } from './preparams/pool.ts';
import { createNodeServer } from './server.ts';
import { SeenSessions } from './session/seen-sessions.ts';
import { unsealOrInit, unsealOrInitWithKek } from './storage/dek-file.ts';
import { dekFilePath, shareDbPath } from './storage/paths.ts';
import { ShareStore } from './storage/share-store.ts';
import { fetchKekFromSocket } from './unseal/kek-socket.ts';
import { readUnsealPassword } from './unseal/password.ts';

async function main(): Promise<void> {
  const config = loadNodeConfig(process.env);
  const log = pino({ name: 'tss-node', level: config.logLevel, base: { node: config.nodeId } });
  const tls = new ReloadingTls(
    config.tlsDir ? secretTlsPaths(config.tlsDir) : devTlsPaths(config.home, config.nodeId),
    {
      intervalMs: config.tlsReloadMs,
      onError: (err) => log.warn({ err: err.message }, 'TLS files changed but were refused; keeping the previous ones'),
    },
  ).start();
  // Both stay undefined while sealed; set once the password unwrapped the DEK.
  const unsealed: { store?: ShareStore; pool?: PreParamsPool; seen?: SeenSessions } = {};
  const preParams = {
    take: () => (unsealed.pool ? unsealed.pool.take() : Promise.reject(new Error(`${config.nodeId} is sealed`))),
  };
  const server = createNodeServer(
    {
      nodeId: config.nodeId,
      shares: () => unsealed.store,
      seenSessions: () => unsealed.seen,
      schemes: builtinSchemes({ gg18PreParams: preParams }),
      preParamsReady: () => unsealed.pool?.size ?? 0,
      abortLimit: config.abortLimit,
      wrappedDek: () => readFile(dekFilePath(config.home, config.nodeId)),
    },
    tls,
    log,
  );
  const port = await server.listen(config.listen);
  log.info({ listen: config.listen, port }, 'listening (sealed)');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    await server.close();
    await unsealed.pool?.close();
    await unsealed.store?.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  const dataDir = shareDbPath(config.home, config.nodeId);
  const dek = await unsealDek(config, dataDir, log);
  const store = await ShareStore.open(dataDir, config.nodeId, dek);
  dek.fill(0);
  unsealed.pool = await openPreParamsPool(store, config.gg18PoolSize, (err) =>
    log.error({ err: (err as Error).message }, 'could not persist GG18 pre-params'),
  );
  unsealed.seen = await SeenSessions.open(store);
  unsealed.store = store;
  log.info({ shares: await store.count(), gg18PreParams: unsealed.pool.size }, 'unsealed, serving sessions');
}

/** The DEK, unwrapped with the HSM KEK from the sidecar when configured, else with the password. */
async function unsealDek(config: NodeConfig, dataDir: string, log: Logger): Promise<Uint8Array> {
  const dekPath = dekFilePath(config.home, config.nodeId);
  // With dataDir, a missing .dek next to existing data is an error, never a fresh empty DEK.
  if (config.kekSocket !== undefined) {
    log.info({ socket: config.kekSocket }, 'unsealing with the KEK from the PKCS#11 sidecar');
    let waiting = false;
    const kek = await fetchKekFromSocket({
      socket: config.kekSocket,
      nodeId: config.nodeId,
      waitMs: config.kekWaitMs,
      onRetry: (reason) => {
        if (!waiting) log.info({ reason }, 'waiting for the PKCS#11 sidecar');
        waiting = true;
      },
    });
    try {
      return await unsealOrInitWithKek(dekPath, config.nodeId, kek, { dataDir });
    } finally {
      kek.fill(0);
    }
  }
  const password = await readUnsealPassword({
    file: config.passwordFile,
    env: 'CUSTOS_UNSEAL_PASSWORD',
    devMode: config.devMode,
    tty: process.stdin.isTTY,
  });
  try {
    return await unsealOrInit(dekPath, config.nodeId, password, { dataDir });
  } finally {
    password.fill(0);
  }
}

main().catch((err: Error & { code?: string }) => {
  // Unseal and config errors carry their own clear message; nothing secret is in them.
  console.error(`tss-node: ${err.code ? `${err.code}: ` : ''}${err.message}`);
  process.exit(2);
});
