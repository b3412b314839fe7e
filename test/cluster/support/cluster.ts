/**
 * The local real cluster of hack/kube (make cluster-up) for tests: reuses a running one, or starts
 * it (building what is missing) and stops it again afterwards. kubectl runs as a child process
 * against the cluster's admin kubeconfig.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = new URL('../../../', import.meta.url).pathname;
export const CUSTOS_HOME = process.env.CUSTOS_HOME ?? join(ROOT, '.custos');
export const KUBECONFIG = join(CUSTOS_HOME, 'kube/kubeconfig');
const KUBECTL = join(CUSTOS_HOME, 'kube/bin/kubectl');

/** Runs kubectl; resolves with stdout, rejects with stderr in the message. */
export function kubectl(args: string[], input?: string, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      KUBECTL,
      ['--kubeconfig', KUBECONFIG, ...args],
      { timeout: timeoutMs, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`kubectl ${args.join(' ')}: ${stderr.trim() || err.message}`));
        else resolve(stdout);
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

export async function kubectlJson<T = Record<string, unknown>>(args: string[]): Promise<T> {
  return JSON.parse(await kubectl([...args, '-o', 'json'])) as T;
}

export const apply = (yaml: string) => kubectl(['apply', '-f', '-'], yaml);

async function clusterAnswers(): Promise<boolean> {
  if (!existsSync(KUBECTL) || !existsSync(KUBECONFIG)) return false;
  return kubectl(['get', '--raw=/readyz'], undefined, 10_000).then(
    () => true,
    () => false,
  );
}

function script(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(ROOT, 'hack/kube', name)], { stdio: 'inherit', env: process.env });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`hack/kube/${name} exited with ${code}`))));
  });
}

/** Starts the cluster unless one is already up; returns whether this call started it. */
export async function ensureCluster(): Promise<boolean> {
  if (await clusterAnswers()) return false;
  await script('cluster-up.sh');
  return true;
}

export const stopCluster = () => script('cluster-down.sh');

/** A plain setting of hack/kube/lib.sh (the one place image names and versions are pinned). */
export function clusterSetting(name: string): string {
  const lib = readFileSync(join(ROOT, 'hack/kube/lib.sh'), 'utf8');
  const value = new RegExp(`^${name}="?([^"$\\s]+)"?$`, 'm').exec(lib)?.[1];
  if (!value) throw new Error(`hack/kube/lib.sh has no plain ${name}`);
  return value;
}
