/**
 * Where the e2e suite runs: the local real cluster of `make cluster-up` by default, or any
 * cluster the caller prepared (kind via `make e2e-kind`) when CUSTOS_E2E_PREPARED=1.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';

const root = resolve(new URL('../../..', import.meta.url).pathname);

const EnvSchema = z.object({
  CUSTOS_HOME: z.string().min(1).default(join(root, '.custos')),
  /** 1: the cluster and images are ready (kind); 0: run `make cluster-up` and `make images` first. */
  CUSTOS_E2E_PREPARED: z.enum(['0', '1']).default('0'),
  KUBECONFIG: z.string().optional(),
  /** Registry and tag the images were built with (hack/images/build.sh). */
  IMAGE_REGISTRY: z.string().min(1).default('custos.local'),
  IMAGE_TAG: z.string().min(1).default('0.1.0'),
  /** How a retagged image reaches the cluster: the local containerd or kind. */
  IMAGE_LOADER: z.enum(['containerd', 'kind']).default('containerd'),
});

export interface E2eEnv {
  readonly root: string;
  readonly prepared: boolean;
  readonly kubeconfig: string;
  /** $CUSTOS_HOME/kube/bin when `make cluster-up` put kubectl and helm there; empty: PATH. */
  readonly toolsDir: string;
  readonly registry: string;
  readonly tag: string;
  readonly loader: 'containerd' | 'kind';
}

export function loadE2eEnv(env: NodeJS.ProcessEnv = process.env): E2eEnv {
  const e = EnvSchema.parse(env);
  const home = resolve(root, e.CUSTOS_HOME);
  const prepared = e.CUSTOS_E2E_PREPARED === '1';
  return {
    root,
    prepared,
    kubeconfig: e.KUBECONFIG && prepared ? e.KUBECONFIG : join(home, 'kube', 'kubeconfig'),
    toolsDir: existsSync(join(home, 'kube', 'bin', 'kubectl')) ? join(home, 'kube', 'bin') : '',
    registry: e.IMAGE_REGISTRY,
    tag: e.IMAGE_TAG,
    loader: e.IMAGE_LOADER,
  };
}

export const imageRef = (env: E2eEnv, name: string, tag = env.tag): string => `${env.registry}/custos-${name}:${tag}`;
