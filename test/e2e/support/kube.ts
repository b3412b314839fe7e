/** kubectl and helm as child processes against the e2e cluster, and polling with a deadline. */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import type { E2eEnv } from './env.ts';

export interface Kube {
  kubectl(args: readonly string[], opts?: { input?: string; timeoutMs?: number }): Promise<string>;
  kubectlJson<T = unknown>(args: readonly string[]): Promise<T>;
  helm(args: readonly string[], opts?: { timeoutMs?: number }): Promise<string>;
  /** A long-running `kubectl` (exec -i, port-forward) whose stdin the caller owns. */
  spawnKubectl(args: readonly string[]): ChildProcessWithoutNullStreams;
  apply(manifest: object | string, namespace?: string): Promise<string>;
}

export function kubeFor(env: E2eEnv): Kube {
  const tool = (name: string) => (env.toolsDir ? join(env.toolsDir, name) : name);
  const childEnv = { ...process.env, KUBECONFIG: env.kubeconfig };
  const run = (file: string, args: readonly string[], input?: string, timeoutMs = 120_000) =>
    new Promise<string>((resolve, reject) => {
      const child = execFile(
        file,
        args,
        { env: childEnv, timeout: timeoutMs, maxBuffer: 64 << 20 },
        (err, stdout, stderr) => {
          if (err) reject(new Error(`${file} ${args.join(' ')} failed: ${String(stderr).trim() || err.message}`));
          else resolve(String(stdout));
        },
      );
      if (input !== undefined) child.stdin!.end(input);
    });
  const kubectl = (args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}) =>
    run(tool('kubectl'), args, opts.input, opts.timeoutMs);
  return {
    kubectl,
    kubectlJson: async (args) => JSON.parse(await kubectl([...args, '-o', 'json'])),
    helm: (args, opts = {}) => run(tool('helm'), args, undefined, opts.timeoutMs ?? 600_000),
    spawnKubectl: (args) => spawn(tool('kubectl'), args, { env: childEnv, stdio: 'pipe' }),
    apply: (manifest, namespace) =>
      kubectl([...(namespace ? ['-n', namespace] : []), 'apply', '-f', '-'], {
        input: typeof manifest === 'string' ? manifest : JSON.stringify(manifest),
      }),
  };
}

/**
 * Polls `probe` until it returns a value other than undefined; fails with the last observation
 * when the deadline passes, so a timeout says what state the cluster was stuck in.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 2_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no observation yet';
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last})`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
