/**
 * A client pod built from the gateway image (it ships the SDK in /app/dist/sdk): it signs through
 * the gateway Service as an application in the cluster would, with the admin credentials from the
 * Secret the chart documents. Scripts run with `kubectl exec`, one JSON document per line on stdout.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Kube } from './kube.ts';
import { waitFor } from './kube.ts';

export interface ClientPodSpec {
  namespace: string;
  name: string;
  image: string;
  pullPolicy: string;
  labels?: Record<string, string>;
  /** Secret with base_url, access_key and secret_key; omitted for pods that only probe the network. */
  credentialsSecret?: string;
  /** Secret whose ca.crt the pod trusts (NODE_EXTRA_CA_CERTS): the gateway serves HTTPS. */
  caSecret?: string;
  /**
   * A probe pod that carries the gateway's labels must never become a gateway Service endpoint:
   * its readiness probe fails on purpose and the suite waits for it to run instead.
   */
  neverReady?: boolean;
}

export function clientPod(s: ClientPodSpec): object {
  const ref = (key: string) => ({ valueFrom: { secretKeyRef: { name: s.credentialsSecret, key } } });
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: s.name, namespace: s.namespace, labels: { 'custos.dev/e2e': 'client', ...s.labels } },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: 'client',
          image: s.image,
          imagePullPolicy: s.pullPolicy,
          // Node as PID 1 ignores SIGTERM unless told to exit on it.
          command: ['node', '-e', "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1 << 30);"],
          env: [
            ...(s.credentialsSecret
              ? [
                  { name: 'CUSTOS_URL', ...ref('base_url') },
                  { name: 'CUSTOS_ACCESS_KEY', ...ref('access_key') },
                  { name: 'CUSTOS_SECRET_KEY', ...ref('secret_key') },
                ]
              : []),
            ...(s.caSecret ? [{ name: 'NODE_EXTRA_CA_CERTS', value: '/etc/custos/ca/ca.crt' }] : []),
          ],
          volumeMounts: s.caSecret ? [{ name: 'ca', mountPath: '/etc/custos/ca', readOnly: true }] : [],
          ...(s.neverReady ? { readinessProbe: { exec: { command: ['false'] }, periodSeconds: 5 } } : {}),
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 10001,
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          },
        },
      ],
      volumes: s.caSecret
        ? [{ name: 'ca', secret: { secretName: s.caSecret, items: [{ key: 'ca.crt', path: 'ca.crt' }] } }]
        : [],
    },
  };
}

export async function startClientPod(kube: Kube, s: ClientPodSpec, timeoutMs = 120_000): Promise<void> {
  await kube.kubectl(['-n', s.namespace, 'delete', 'pod', s.name, '--ignore-not-found', '--wait=true']);
  await kube.apply(clientPod(s));
  const condition = s.neverReady ? '--for=jsonpath={.status.phase}=Running' : '--for=condition=Ready';
  await kube.kubectl(['-n', s.namespace, 'wait', `pod/${s.name}`, condition, `--timeout=${timeoutMs / 1000}s`], {
    timeoutMs: timeoutMs + 10_000,
  });
}

/** Runs an ES module in the pod and returns its stdout lines parsed as JSON. */
export async function runInPod<T>(
  kube: Kube,
  pod: { namespace: string; name: string },
  script: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<T[]> {
  const out = await kube.kubectl(
    ['-n', pod.namespace, 'exec', pod.name, '--', 'node', '--input-type=module', '-e', script, ...args],
    { timeoutMs },
  );
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as T);
}

export interface SignResult {
  keyId: string;
  data: string;
  dataType: 'RAW' | 'HASH';
  ok: boolean;
  signature?: string;
  signers?: string[];
  error?: string;
  ms: number;
}

/** Signs each (key, data) once with the SDK (its default retries), one result per line. */
export const SIGN_SCRIPT = `
import { CustosClient } from '/app/dist/sdk/index.js';
const client = new CustosClient({ baseUrl: process.env.CUSTOS_URL, accessKey: process.env.CUSTOS_ACCESS_KEY, secretKey: process.env.CUSTOS_SECRET_KEY });
for (const job of JSON.parse(process.argv[1])) {
  const t0 = Date.now();
  try {
    const s = await client.sign(job.keyId, { data: job.data, data_type: job.dataType });
    console.log(JSON.stringify({ ...job, ok: true, signature: s.signature, signers: s.signer_nodes, ms: Date.now() - t0 }));
  } catch (e) {
    console.log(JSON.stringify({ ...job, ok: false, error: String(e.code ?? '') + ' ' + e.message, ms: Date.now() - t0 }));
  }
}
`;

/**
 * Signs round-robin over the jobs until its stdin closes; SDK retries (503, connection errors)
 * are allowed, a request that still fails counts as a failure. The retry budget is that of a client
 * meant to ride out a gateway restart: 20 attempts, backoff from 0.5 s capped at 8 s (full jitter),
 * about a minute in all, as long as a replaced single gateway replica takes here under load
 * (docs/operator.md "End-to-end suite").
 */
export const SIGN_LOOP_SCRIPT = `
import { CustosClient } from '/app/dist/sdk/index.js';
import { randomBytes } from 'node:crypto';
const client = new CustosClient({ baseUrl: process.env.CUSTOS_URL, accessKey: process.env.CUSTOS_ACCESS_KEY, secretKey: process.env.CUSTOS_SECRET_KEY, retry: { maxAttempts: 20, baseDelayMs: 500, maxDelayMs: 8000 } });
let stop = false;
process.stdin.on('data', () => {}).on('end', () => { stop = true; }).resume();
const jobs = JSON.parse(process.argv[1]);
for (let i = 0; !stop; i++) {
  const job = { ...jobs[i % jobs.length] };
  job.data = '0x' + randomBytes(32).toString('hex');
  const t0 = Date.now();
  try {
    const s = await client.sign(job.keyId, { data: job.data, data_type: job.dataType });
    console.log(JSON.stringify({ ...job, ok: true, signature: s.signature, signers: s.signer_nodes, ms: Date.now() - t0 }));
  } catch (e) {
    console.log(JSON.stringify({ ...job, ok: false, error: String(e.code ?? '') + ' ' + e.message, ms: Date.now() - t0 }));
    await new Promise((r) => setTimeout(r, 500));
  }
}
`;

export interface SignLoop {
  /** Closes the loop's stdin and returns every result it printed. */
  stop(): Promise<SignResult[]>;
  results: SignResult[];
}

export function startSignLoop(
  kube: Kube,
  pod: { namespace: string; name: string },
  jobs: readonly Pick<SignResult, 'keyId' | 'dataType'>[],
): SignLoop {
  const child: ChildProcessWithoutNullStreams = kube.spawnKubectl([
    '-n',
    pod.namespace,
    'exec',
    '-i',
    pod.name,
    '--',
    'node',
    '--input-type=module',
    '-e',
    SIGN_LOOP_SCRIPT,
    JSON.stringify(jobs),
  ]);
  const results: SignResult[] = [];
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  createInterface({ input: child.stdout }).on('line', (l) => {
    if (l.startsWith('{')) results.push(JSON.parse(l) as SignResult);
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    results,
    async stop() {
      child.stdin.end();
      const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 120_000))]);
      if (code === 'timeout') child.kill('SIGKILL');
      if (code !== 0) throw new Error(`the signing loop ended with ${code}: ${stderr.trim().slice(-2000)}`);
      return results;
    },
  };
}

/** Waits until the loop has produced at least `n` more results than `from` (proves it is running). */
export function waitForResults(loop: SignLoop, n: number, timeoutMs: number): Promise<boolean> {
  const from = loop.results.length;
  return waitFor(
    `${n} signatures from the signing loop`,
    async () => {
      if (loop.results.length >= from + n) return true;
      throw new Error(`${loop.results.length - from} so far`);
    },
    timeoutMs,
    1_000,
  );
}
