/**
 * Brings the e2e cluster up before the suite: `make cluster-up` (idempotent; builds what is missing,
 * cached under ~/.cache/custos) and `make images` (Docker's layer cache makes a rebuild cheap).
 * Skipped when the caller prepared the cluster (CUSTOS_E2E_PREPARED=1, as `make e2e-kind` does).
 */
import { spawn } from 'node:child_process';
import type { E2eEnv } from './env.ts';
import type { Kube } from './kube.ts';

function make(env: E2eEnv, target: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('make', ['--no-print-directory', target], { cwd: env.root, stdio: 'inherit' });
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`make ${target} failed (${signal ?? `exit ${code}`})`));
    });
  });
}

/**
 * Cold (nothing cached) this builds Kubernetes, the base image and the images: allow 60 minutes.
 * Returns whether this call started the cluster (the suite then stops it when done).
 */
export async function prepareCluster(env: E2eEnv, kube: Kube, timeoutMs: number): Promise<boolean> {
  if (env.prepared) return false;
  const deadline = Date.now() + timeoutMs;
  const wasUp = await kube.kubectl(['get', '--raw=/readyz'], { timeoutMs: 10_000 }).then(
    () => true,
    () => false,
  );
  await make(env, 'cluster-up', timeoutMs);
  await make(env, 'images', Math.max(deadline - Date.now(), 60_000));
  return !wasUp;
}

export const stopCluster = (env: E2eEnv): Promise<void> => make(env, 'cluster-down', 5 * 60_000);

/** Gives an already loaded image a second tag in the cluster, as a release upgrade would. */
export function retagImage(env: E2eEnv, from: string, to: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['hack/images/retag.sh', from, to], {
      cwd: env.root,
      stdio: 'inherit',
      env: { ...process.env, IMAGE_LOADER: env.loader },
    });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`retag ${from} -> ${to} failed`))));
  });
}
