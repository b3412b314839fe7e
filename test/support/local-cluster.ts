/**
 * A real local Custos cluster on loopback: TSS node processes and a gateway process talking
 * gRPC over mTLS, with a dev PKI, unseal password files and a dev access key under CUSTOS_HOME.
 * Used by `make run` (hack/dev-cluster.ts), the integration tests and the benchmarks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { CredentialsFileSchema, type CredentialsFile } from '../../common/api/schemas.ts';
import { createTlsFetch } from '../../common/http/tls-fetch.ts';
import { ensureDevPki } from '../../common/pki/dev-pki.ts';
import { newTotpSecret } from '../../gateway/console/totp.ts';
import { freePort } from './free-port.ts';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);

/**
 * `dist` runs the compiled build (what ships; `npm run build` first), `source` runs the TypeScript
 * through tsx. CUSTOS_RUNTIME picks the default: `make test`, `make run` and `make bench` build
 * and use `dist`; a test file run by hand uses the sources it sees.
 */
export type Runtime = 'dist' | 'source';
const defaultRuntime = (): Runtime => (process.env.CUSTOS_RUNTIME === 'dist' ? 'dist' : 'source');

/**
 * V8 flags every Custos process runs with (the images' entrypoints pass the same): a small young
 * generation keeps each process's RSS within budget (measured: gateway 193 -> 142 MB, nodes
 * 124 -> 100 MB after EDDSA/BLS load) for about 5% of signing throughput.
 */
export const RUNTIME_FLAGS = ['--max-semi-space-size=2'];

function entryArgs(runtime: Runtime, entry: 'node' | 'gateway'): string[] {
  if (runtime === 'source') return ['--import', 'tsx', `${entry}/main.ts`];
  const built = join(ROOT, 'dist', entry, 'main.js');
  if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` first`);
  return [built];
}

export type LogSink = (source: string, line: string) => void;

export interface LocalClusterOptions {
  /** CUSTOS_HOME; a fresh temp dir when omitted. */
  home?: string;
  nodeCount?: number;
  /** 0 picks free ports. */
  gatewayPort?: number;
  /** The admin console's port; 0 picks a free one. */
  consolePort?: number;
  /** First node port; nodes get consecutive ports. 0 picks free ports. */
  nodeBasePort?: number;
  algorithms?: string[];
  /** Where process output goes; quiet by default (kept for error messages). */
  onLog?: LogSink;
  /** Extra environment for the gateway (e.g. rate limits in tests). */
  gatewayEnv?: Record<string, string>;
  /** Extra environment for every node. */
  nodeEnv?: Record<string, string>;
  /** The gateway serves HTTPS with its dev-PKI certificate (baseUrl is https://). */
  gatewayTls?: boolean;
  /** Endpoints the gateway dials besides the nodes started here (`id=host:port`). */
  extraNodes?: string[];
  runtime?: Runtime;
  /** GG18 pre-params each node keeps ready (node default 2); 0 spends no background CPU. */
  gg18PoolSize?: number;
  /** Extra Node.js flags per process kind, e.g. `--cpu-prof` when profiling. */
  execArgv?: { gateway?: string[]; node?: string[] };
}

export interface LocalNode {
  readonly id: string;
  readonly address: string;
  readonly running: boolean;
  readonly pid: number | undefined;
}

export interface LocalCluster extends CredentialsFile {
  readonly home: string;
  readonly baseUrl: string;
  /** The admin console; its first user is in console_user, console_password, console_totp_secret. */
  readonly consoleUrl: string;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly nodes: readonly LocalNode[];
  readonly gatewayPid: number | undefined;
  /** fetch for the gateway: trusts the cluster's dev CA when the gateway serves HTTPS. */
  readonly fetch: typeof globalThis.fetch;
  /** SIGKILLs a node, as a crash would. */
  killNode(id: string): Promise<void>;
  /** Starts a stopped node again and waits until it is unsealed. */
  startNode(id: string): Promise<void>;
  /** Restarts the gateway process. */
  restartGateway(): Promise<void>;
  stop(): Promise<void>;
}

function writeSecretFile(path: string, content: string): void {
  if (!existsSync(path)) writeFileSync(path, content, { mode: 0o600 });
}

/**
 * Creates what a dev cluster needs under `home` when absent; never overwrites. The first console
 * user goes into credentials.json (dev mode only) and the gateway's bootstrap file.
 */
export async function prepareHome(
  home: string,
  nodeIds: readonly string[],
  baseUrl: string,
  consoleUrl?: string,
): Promise<CredentialsFile> {
  mkdirSync(join(home, 'secrets'), { recursive: true, mode: 0o700 });
  mkdirSync(join(home, 'gateway'), { recursive: true, mode: 0o700 });
  await ensureDevPki(home, nodeIds);
  for (const id of nodeIds)
    writeSecretFile(join(home, 'secrets', `${id}.password`), randomBytes(24).toString('base64url'));
  const credentialsPath = join(home, 'credentials.json');
  if (!existsSync(credentialsPath)) {
    const fresh: CredentialsFile = {
      base_url: baseUrl,
      access_key: `AK${randomBytes(10).toString('hex').toUpperCase()}`,
      secret_key: randomBytes(32).toString('base64url'),
    };
    writeFileSync(credentialsPath, JSON.stringify(fresh, null, 2) + '\n', { mode: 0o600 });
  }
  const creds = CredentialsFileSchema.parse(JSON.parse(readFileSync(credentialsPath, 'utf8')));
  const consoleNew = !creds.console_user;
  if (consoleNew) {
    creds.console_user = 'admin';
    creds.console_password = randomBytes(18).toString('base64url');
    creds.console_totp_secret = newTotpSecret();
  }
  if (creds.base_url !== baseUrl || consoleNew || (consoleUrl && creds.console_url !== consoleUrl)) {
    creds.base_url = baseUrl;
    if (consoleUrl) creds.console_url = consoleUrl;
    writeFileSync(credentialsPath, JSON.stringify(creds, null, 2) + '\n', { mode: 0o600 });
  }
  writeFileSync(
    join(home, 'gateway', 'console-user.json'),
    JSON.stringify({
      username: creds.console_user,
      password: creds.console_password,
      totp_secret: creds.console_totp_secret,
      roles: ['admin'],
    }),
    { mode: 0o600 },
  );
  writeFileSync(
    join(home, 'gateway', 'bootstrap-credentials.json'),
    JSON.stringify({ access_key: creds.access_key, secret_key: creds.secret_key }),
    { mode: 0o600 },
  );
  return creds;
}

interface Proc {
  child?: ChildProcess;
  recent: string[];
}

function launch(name: string, args: string[], env: Record<string, string>, proc: Proc, onLog?: LogSink): ChildProcess {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.child = child;
  proc.recent = [];
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => {
      proc.recent.push(line);
      if (proc.recent.length > 50) proc.recent.shift();
      onLog?.(name, line);
    });
  }
  return child;
}

/** Resolves when `predicate` sees a matching output line; rejects if the process exits first. */
function waitForLine(name: string, proc: Proc, predicate: (line: string) => boolean, timeoutMs: number): Promise<void> {
  const child = proc.child!;
  return new Promise((resolveWait, reject) => {
    const timer = setTimeout(
      () => fail(new Error(`${name} not ready after ${timeoutMs} ms:\n${proc.recent.join('\n')}`)),
      timeoutMs,
    );
    const onLine = (line: string) => predicate(line) && done();
    const onExit = (code: number | null) =>
      fail(new Error(`${name} exited (${code}) before it was ready:\n${proc.recent.join('\n')}`));
    const rls = [child.stdout!, child.stderr!].map((s) => createInterface({ input: s }).on('line', onLine));
    child.once('exit', onExit);
    function cleanup() {
      clearTimeout(timer);
      child.off('exit', onExit);
      rls.forEach((rl) => rl.close());
    }
    function done() {
      cleanup();
      resolveWait();
    }
    function fail(e: Error) {
      cleanup();
      reject(e);
    }
  });
}

async function waitReady(
  baseUrl: string,
  proc: Proc,
  timeoutMs: number,
  fetch: typeof globalThis.fetch,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (proc.child?.exitCode !== null)
      throw new Error(`gateway exited (${proc.child?.exitCode}):\n${proc.recent.join('\n')}`);
    try {
      const res = await fetch(`${baseUrl}/ready`);
      last = `${res.status} ${await res.text()}`;
      if (res.ok) return;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`gateway not ready after ${timeoutMs} ms (last: ${last}):\n${proc.recent.join('\n')}`);
}

function stopProcess(proc: Proc, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const child = proc.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveStop) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(force);
      resolveStop();
    });
    child.kill(signal);
  });
}

export async function startLocalCluster(opts: LocalClusterOptions = {}): Promise<LocalCluster> {
  const home = resolve(opts.home ?? mkdtempSync(join(tmpdir(), 'custos-cluster-')));
  const nodeIds = Array.from({ length: opts.nodeCount ?? 4 }, (_, i) => `tss${i + 1}`);
  const gatewayPort = opts.gatewayPort || (await freePort());
  const nodePorts: number[] = [];
  for (let i = 0; i < nodeIds.length; i++) nodePorts.push(opts.nodeBasePort ? opts.nodeBasePort + i : await freePort());
  const consolePort = opts.consolePort || (await freePort());
  const baseUrl = `${opts.gatewayTls ? 'https' : 'http'}://127.0.0.1:${gatewayPort}`;
  const consoleUrl = `${opts.gatewayTls ? 'https' : 'http'}://127.0.0.1:${consolePort}`;
  const creds = await prepareHome(home, nodeIds, baseUrl, consoleUrl);

  const nodeProcs = new Map<string, Proc>(nodeIds.map((id) => [id, { recent: [] }]));
  const addresses = new Map(nodeIds.map((id, i) => [id, `127.0.0.1:${nodePorts[i]}`]));
  const gatewayProc: Proc = { recent: [] };
  // HTTPS to the gateway trusts the cluster's dev CA only.
  const clusterFetch = opts.gatewayTls
    ? createTlsFetch({ ca: readFileSync(join(home, 'certs', 'ca.cert')) })
    : globalThis.fetch;
  const runtime = opts.runtime ?? defaultRuntime();

  async function startNode(id: string): Promise<void> {
    const proc = nodeProcs.get(id);
    if (!proc) throw new Error(`no node ${id}`);
    if (proc.child && proc.child.exitCode === null && proc.child.signalCode === null) return;
    launch(
      id,
      [...RUNTIME_FLAGS, ...(opts.execArgv?.node ?? []), ...entryArgs(runtime, 'node')],
      {
        CUSTOS_NODE_ID: id,
        CUSTOS_HOME: home,
        CUSTOS_LISTEN: addresses.get(id)!,
        CUSTOS_UNSEAL_PASSWORD_FILE: join(home, 'secrets', `${id}.password`),
        ...(opts.gg18PoolSize !== undefined ? { CUSTOS_GG18_POOL_SIZE: String(opts.gg18PoolSize) } : {}),
        ...opts.nodeEnv,
      },
      proc,
      opts.onLog,
    );
    // Start and unseal take seconds on a quiet machine; 60 s ran out at load average 58.
    await waitForLine(id, proc, (l) => l.includes('unsealed, serving sessions'), 180_000);
  }

  async function startGateway(): Promise<void> {
    launch(
      'gateway',
      [...RUNTIME_FLAGS, ...(opts.execArgv?.gateway ?? []), ...entryArgs(runtime, 'gateway')],
      {
        CUSTOS_HOME: home,
        CUSTOS_GATEWAY_HOST: '127.0.0.1',
        CUSTOS_GATEWAY_PORT: String(gatewayPort),
        CUSTOS_NODES: [...nodeIds.map((id) => `${id}=${addresses.get(id)}`), ...(opts.extraNodes ?? [])].join(','),
        CUSTOS_BOOTSTRAP_CREDENTIALS_FILE: join(home, 'gateway', 'bootstrap-credentials.json'),
        CUSTOS_CONSOLE_PORT: String(consolePort),
        CUSTOS_CONSOLE_BOOTSTRAP_FILE: join(home, 'gateway', 'console-user.json'),
        ...(opts.algorithms ? { CUSTOS_ALGORITHMS: opts.algorithms.join(',') } : {}),
        ...(opts.gatewayTls ? { CUSTOS_GATEWAY_TLS: '1' } : {}),
        ...opts.gatewayEnv,
      },
      gatewayProc,
      opts.onLog,
    );
    await waitReady(baseUrl, gatewayProc, 180_000, clusterFetch);
  }

  const all = () => [gatewayProc, ...nodeProcs.values()];
  try {
    await Promise.all(nodeIds.map(startNode));
    await startGateway();
  } catch (e) {
    await Promise.all(all().map((p) => stopProcess(p, 'SIGKILL')));
    throw e;
  }

  return {
    ...creds,
    home,
    baseUrl,
    consoleUrl,
    base_url: baseUrl,
    fetch: clusterFetch,
    accessKey: creds.access_key,
    access_key: creds.access_key,
    secretKey: creds.secret_key,
    secret_key: creds.secret_key,
    get gatewayPid() {
      return gatewayProc.child?.pid;
    },
    get nodes() {
      return nodeIds.map((id) => {
        const child = nodeProcs.get(id)!.child;
        return {
          id,
          address: addresses.get(id)!,
          running: !!child && child.exitCode === null && child.signalCode === null,
          pid: child?.pid,
        };
      });
    },
    async killNode(id) {
      const proc = nodeProcs.get(id);
      if (!proc) throw new Error(`no node ${id}`);
      await stopProcess(proc, 'SIGKILL');
    },
    startNode,
    async restartGateway() {
      await stopProcess(gatewayProc);
      await startGateway();
    },
    async stop() {
      await stopProcess(gatewayProc);
      await Promise.all([...nodeProcs.values()].map((p) => stopProcess(p)));
    },
  };
}
