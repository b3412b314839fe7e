/**
 * Starts a real control plane on loopback: etcd 3.5, kube-apiserver and kube-controller-manager
 * built by hack/kube/build.sh, with a generated CA, serving and admin certificates, and a
 * service-account key pair. Writes an admin kubeconfig. No kubelet runs: tests act as one.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:https';

export const BIN_DIR = join(process.env.CUSTOS_CACHE ?? join(process.env.HOME ?? '/root', '.cache/custos'), 'bin');

/** Path of a binary built by hack/kube/build.sh; throws (never skips) when it is missing. */
export function binary(name: string): string {
  const p = join(BIN_DIR, name);
  if (!existsSync(p)) {
    throw new Error(`${p} is missing: run \`make test-deps\` (hack/setup.d/20-kube.sh builds it from Go modules)`);
  }
  return p;
}

/**
 * cert-manager's real CRDs, copied from its Go module into the cache by
 * hack/kube/cert-manager-crds.sh (the version is the one hack/kube/lib.sh pins); throws when missing.
 */
export function certManagerCrds(): string {
  const lib = readFileSync(new URL('../../../hack/kube/lib.sh', import.meta.url), 'utf8');
  const version = /CERT_MANAGER_VERSION:-(v[0-9.]+)\}/.exec(lib)?.[1];
  if (!version) throw new Error('hack/kube/lib.sh does not pin CERT_MANAGER_VERSION');
  const p = join(BIN_DIR, '..', `cert-manager-crds-${version}.yaml`);
  if (!existsSync(p)) {
    throw new Error(
      `${p} is missing: run \`make test-deps\` (hack/kube/cert-manager-crds.sh copies it from the Go module)`,
    );
  }
  return p;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** CA, apiserver serving cert, admin client cert (system:masters) and service-account keys. */
function makePki(dir: string): void {
  openssl(
    dir,
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=custos-test-ca',
  );
  const leaf = (name: string, subj: string, ext: string) => {
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(
      dir,
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      subj,
    );
    openssl(
      dir,
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
    );
  };
  leaf(
    'apiserver',
    '/CN=kube-apiserver',
    'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n',
  );
  leaf('admin', '/O=system:masters/CN=custos-test-admin', 'extendedKeyUsage=clientAuth\n');
  openssl(dir, 'genrsa', '-out', 'sa.key', '2048');
  openssl(dir, 'rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub');
}

function kubeconfig(dir: string, server: string): string {
  const b64 = (f: string) => readFileSync(join(dir, f)).toString('base64');
  const text = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: test\n  cluster:\n    server: ${server}\n    certificate-authority-data: ${b64('ca.crt')}`,
    'users:',
    `- name: admin\n  user:\n    client-certificate-data: ${b64('admin.crt')}\n    client-key-data: ${b64('admin.key')}`,
    'contexts:',
    '- name: test\n  context:\n    cluster: test\n    user: admin\n    namespace: default',
    'current-context: test',
    '',
  ].join('\n');
  const path = join(dir, 'admin.kubeconfig');
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

export interface ControlPlane {
  dir: string;
  server: string;
  kubeconfigPath: string;
  /** GET against the API server with the admin certificate; returns status and parsed body. */
  get(path: string): Promise<{ status: number; body: unknown }>;
  /** SIGKILLs the API server (not etcd), as a crash would, and starts a new one on the same port. */
  restartApiServer(downMs?: number): Promise<void>;
  stopApiServer(signal?: NodeJS.Signals): Promise<void>;
  startApiServer(): Promise<void>;
  stop(): Promise<void>;
}

function launch(name: string, args: string[], dir: string): ChildProcess {
  const log = openSync(join(dir, `${name}.log`), 'a');
  const child = spawn(binary(name), args, { cwd: dir, stdio: ['ignore', log, log] });
  child.on('error', (e) => console.error(`${name}: ${e.message}`));
  return child;
}

async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  logFile: string,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n') : '';
  throw new Error(`${what} did not become ready within ${timeoutMs / 1000}s; last log lines:\n${tail}`);
}

export async function startControlPlane(): Promise<ControlPlane> {
  const dir = mkdtempSync(join(tmpdir(), 'custos-kube-'));
  makePki(dir);
  const [etcdPort, peerPort] = [await freePort(), await freePort()];
  // Chosen again if another process takes it before the first start binds it (see startApiServer).
  let apiPort = await freePort();
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const etcd = launch(
    'etcd',
    [
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=default=${peerUrl}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    dir,
  );
  await waitFor('etcd', async () => (await fetch(`${etcdUrl}/health`)).ok, join(dir, 'etcd.log'));

  let server = `https://127.0.0.1:${apiPort}`;
  const agent = new Agent({
    ca: readFileSync(join(dir, 'ca.crt')),
    cert: readFileSync(join(dir, 'admin.crt')),
    key: readFileSync(join(dir, 'admin.key')),
    keepAlive: false,
  });
  const get = (path: string) =>
    new Promise<{ status: number; body: unknown }>((resolve, reject) => {
      const req = request(`${server}${path}`, { agent, method: 'GET' }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // plain-text endpoints such as /readyz
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      });
      req.on('error', reject);
      req.end();
    });

  const apiArgs = () => [
    `--etcd-servers=${etcdUrl}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${apiPort}`,
    `--cert-dir=${join(dir, 'apiserver-certs')}`,
    `--tls-cert-file=${join(dir, 'apiserver.crt')}`,
    `--tls-private-key-file=${join(dir, 'apiserver.key')}`,
    `--client-ca-file=${join(dir, 'ca.crt')}`,
    '--service-account-issuer=https://kubernetes.default.svc',
    `--service-account-key-file=${join(dir, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
    '--service-cluster-ip-range=10.96.0.0/16',
    '--authorization-mode=Node,RBAC',
    '--allow-privileged=false',
    '--endpoint-reconciler-type=none',
    '--enable-priority-and-fairness=false',
    '--profiling=false',
    '--v=1',
  ];
  let apiserver: ChildProcess | undefined;
  const apiLog = join(dir, 'kube-apiserver.log');
  /**
   * A port found free can be taken by another process (on a busy machine, often as the local port
   * of an outgoing connection) before the API server binds it. The first start then moves to
   * another port; a restart keeps its port (clients know it) and tries again once it is released.
   */
  const startApiServer = async (firstStart = false) => {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const logBefore = existsSync(apiLog) ? readFileSync(apiLog, 'utf8').length : 0;
      const child = launch('kube-apiserver', apiArgs(), dir);
      apiserver = child;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      await waitFor(
        'kube-apiserver',
        async () => {
          if (child.exitCode !== null || child.signalCode !== null) return true;
          return (await get('/readyz')).status === 200;
        },
        apiLog,
        Math.max(deadline - Date.now(), 1_000),
      );
      if (child.exitCode === null && child.signalCode === null) return;
      await exited;
      const addressInUse = readFileSync(apiLog, 'utf8').slice(logBefore).includes('address already in use');
      if (!addressInUse || Date.now() > deadline) {
        throw new Error(`kube-apiserver exited (${child.exitCode ?? child.signalCode}); see ${apiLog}`);
      }
      if (firstStart) {
        apiPort = await freePort();
        server = `https://127.0.0.1:${apiPort}`;
      } else {
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  };
  const stopApiServer = async (signal: NodeJS.Signals = 'SIGTERM') => {
    await stopChild(apiserver, signal);
  };
  await startApiServer(true);

  const kubeconfigPath = kubeconfig(dir, server);
  const kcm = launch(
    'kube-controller-manager',
    [
      `--kubeconfig=${kubeconfigPath}`,
      `--authentication-kubeconfig=${kubeconfigPath}`,
      `--authorization-kubeconfig=${kubeconfigPath}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${await freePort()}`,
      `--cert-dir=${join(dir, 'kcm-certs')}`,
      '--leader-elect=false',
      '--controllers=*,-nodeipam,-nodelifecycle,-cloud-node-lifecycle,-service-lb-controller,-route,-persistentvolume-binder,-attachdetach,-persistentvolume-expander',
      `--service-account-private-key-file=${join(dir, 'sa.key')}`,
      `--root-ca-file=${join(dir, 'ca.crt')}`,
      '--use-service-account-credentials=false',
      '--concurrent-gc-syncs=5',
      '--v=1',
    ],
    dir,
  );
  // The controller manager is up once it has created the default namespace's service account.
  await waitFor(
    'kube-controller-manager',
    async () => (await get('/api/v1/namespaces/default/serviceaccounts/default')).status === 200,
    join(dir, 'kube-controller-manager.log'),
  );

  return {
    dir,
    server,
    kubeconfigPath,
    get,
    startApiServer,
    stopApiServer,
    async restartApiServer(downMs = 2000) {
      await stopApiServer('SIGKILL');
      await new Promise((r) => setTimeout(r, downMs));
      await startApiServer();
    },
    async stop() {
      await stopChild(kcm);
      await stopApiServer();
      await stopChild(etcd);
      agent.destroy();
      if (!process.env.CUSTOS_KEEP_KUBE) rmSync(dir, { recursive: true, force: true });
    },
  };
}
