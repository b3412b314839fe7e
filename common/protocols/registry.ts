/** The threshold schemes this build serves, by API `algo_type`. */
import { blsScheme } from './bls/index.ts';
import { frostEd25519Scheme } from './frost/index.ts';
import type { ThresholdScheme } from './types.ts';

export function builtinSchemes(): Map<string, ThresholdScheme> {
  return new Map<string, ThresholdScheme>([
    [frostEd25519Scheme.algo, frostEd25519Scheme],
    [blsScheme.algo, blsScheme],
  ]);
}
