/** The threshold schemes this build serves, by API `algo_type`. */
import { blsScheme } from './bls/index.ts';
import { dkls23Scheme } from './dkls23/index.ts';
import { frostEd25519Scheme } from './frost/index.ts';
import { createGg18Scheme, type PreParams } from './gg18/index.ts';
import type { ThresholdScheme } from './types.ts';

export interface SchemeOptions {
  /**
   * Where a node takes GG18 Paillier/ring-Pedersen pre-params for keygen (its pool). The gateway,
   * which only combines and verifies, passes none. Only the asynchronous `take` is used: the pool
   * persists an item's removal before handing it out.
   */
  readonly gg18PreParams?: { take(): Promise<PreParams> };
}

export function builtinSchemes(opts: SchemeOptions = {}): Map<string, ThresholdScheme> {
  const gg18 = createGg18Scheme();
  const pool = opts.gg18PreParams;
  const gg18WithPool: ThresholdScheme = pool
    ? {
        ...gg18,
        prepareKeygen: async (ctx) => gg18.keygenWith(ctx, await pool.take()),
        prepareRefresh: async (ctx, share) => gg18.refreshWith(ctx, share, await pool.take()),
      }
    : gg18;
  return new Map<string, ThresholdScheme>([
    [gg18.algo, gg18WithPool],
    [frostEd25519Scheme.algo, frostEd25519Scheme],
    [blsScheme.algo, blsScheme],
    [dkls23Scheme.algo, dkls23Scheme],
  ]);
}
