/** Child processes for the HSM tests: the real sidecar and node, from the sources or from dist/. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);

/** As in test/support/local-cluster.ts: CUSTOS_RUNTIME=dist runs the compiled build. */
function entryArgs(entry: 'node/main' | 'node/kek-sidecar/main'): string[] {
  if (process.env.CUSTOS_RUNTIME !== 'dist') return ['--import', 'tsx', `${entry}.ts`];
  const built = join(ROOT, 'dist', `${entry}.js`);
  if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` first`);
  return [built];
}

export class Proc {
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;
  private readonly watchers = new Set<() => void>();
  /** Set once the process ended and all its output was read. */
  private closed = false;

  constructor(
    readonly name: string,
    entry: 'node/main' | 'node/kek-sidecar/main',
    env: Record<string, string>,
  ) {
    this.child = spawn(process.execPath, entryArgs(entry), {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        this.lines.push(line);
        this.watchers.forEach((w) => w());
      });
    }
    this.exited = new Promise((resolveExit) =>
      this.child.once('close', (code) => {
        this.closed = true;
        this.watchers.forEach((w) => w());
        resolveExit(code);
      }),
    );
  }

  get output(): string {
    return this.lines.join('\n');
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves with the first line matching `pattern`; rejects if the process ends without one. */
  waitFor(pattern: RegExp): Promise<string> {
    return new Promise((resolveLine, reject) => {
      const check = () => {
        const line = this.lines.find((l) => pattern.test(l));
        if (line !== undefined) {
          this.watchers.delete(check);
          resolveLine(line);
        } else if (this.closed) {
          this.watchers.delete(check);
          reject(new Error(`${this.name} exited without printing ${pattern}:\n${this.output}`));
        }
      };
      this.watchers.add(check);
      check();
    });
  }

  async stop(): Promise<void> {
    if (this.running) this.child.kill('SIGTERM');
    await this.exited;
  }
}

export const startSidecar = (env: Record<string, string>) => new Proc('kek-sidecar', 'node/kek-sidecar/main', env);
export const startNode = (env: Record<string, string>) => new Proc('tss-node', 'node/main', env);

/** The port from the node's "listening (sealed)" log line (the node listens on port 0). */
export async function listeningPort(node: Proc): Promise<number> {
  const line = await node.waitFor(/listening \(sealed\)/);
  return (JSON.parse(line) as { port: number }).port;
}
