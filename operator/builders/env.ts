/**
 * Pod environment through the deployables' own env schemas (common/config/env.ts): a name the
 * process does not read, or a literal value it would refuse, fails here, at build time of the
 * desired state, instead of in a crash-looping pod.
 */
import type { V1EnvVar } from '@kubernetes/client-node';
import type { z } from 'zod';

export class EnvContractError extends Error {}

export function checkedEnv(schema: z.ZodObject, vars: V1EnvVar[]): V1EnvVar[] {
  for (const v of vars) {
    const field = schema.shape[v.name] as z.ZodType | undefined;
    if (!field) throw new EnvContractError(`${v.name} is not part of the environment contract`);
    if (v.value === undefined) continue; // from a Secret: checked where the Secret is made
    const r = field.safeParse(v.value);
    if (!r.success) throw new EnvContractError(`${v.name}=${JSON.stringify(v.value)}: ${r.error.issues[0]?.message}`);
  }
  return vars;
}
