/** ManagedKey: a threshold key generated through a KmsCluster's gateway. */
import { z } from 'zod';
import { CURVES, KEY_STATUSES, SERVED_ALGORITHMS, SETTABLE_KEY_STATUSES } from '../../../common/api/schemas.ts';
import { cel, ConditionsSchema, LocalObjectRefSchema, type ObjectMeta } from './common.ts';

export const CHAINS = ['EVM', 'BITCOIN', 'TRON', 'SOLANA', 'ETH2'] as const;

export const ManagedKeySpecSchema = z
  .object({
    clusterRef: LocalObjectRefSchema.describe('KmsCluster in the same namespace').meta(
      cel({ rule: 'self == oldSelf', message: 'clusterRef is immutable' }),
    ),
    format: z
      .object({
        type: z.literal('ECC').default('ECC'),
        curve: z.enum(CURVES).default('SECP256K1'),
        algoType: z.enum(SERVED_ALGORITHMS).default('GG18'),
        size: z.literal(32).default(32),
      })
      .strict()
      .default({ type: 'ECC', curve: 'SECP256K1', algoType: 'GG18', size: 32 })
      .meta(
        cel(
          {
            rule: "!(self.algoType in ['GG18', 'DMZ21', 'DKLS23']) || self.curve == 'SECP256K1'",
            message: 'GG18, DMZ21 and DKLS23 keys use curve SECP256K1',
          },
          { rule: "self.algoType != 'EDDSA' || self.curve == 'ED25519'", message: 'EDDSA keys use curve ED25519' },
          { rule: "self.algoType != 'BLS' || self.curve == 'BLS12_381'", message: 'BLS keys use curve BLS12_381' },
          { rule: 'self == oldSelf', message: 'format is immutable' },
        ),
      ),
    shardProperties: z
      .object({ shardCount: z.int().min(2).max(16).default(3), threshold: z.int().min(2).max(16).default(2) })
      .strict()
      .default({ shardCount: 3, threshold: 2 })
      .meta(
        cel(
          { rule: 'self.threshold <= self.shardCount', message: 'threshold must not exceed shardCount' },
          { rule: 'self == oldSelf', message: 'shardProperties is immutable' },
        ),
      ),
    chains: z
      .array(z.enum(CHAINS))
      .max(5)
      .optional()
      .meta({ 'x-kubernetes-list-type': 'set' })
      .describe('Chains whose addresses are mirrored into status (default: all the gateway returns)'),
    keyStatus: z.enum(SETTABLE_KEY_STATUSES).default('ACTIVE'),
    deletionPolicy: z
      .enum(['Archive', 'Retain'])
      .default('Archive')
      .describe('Archive: deleting the resource archives the key; Retain: the key is left as it is'),
  })
  .strict();
export type ManagedKeySpec = z.infer<typeof ManagedKeySpecSchema>;

export const MANAGED_KEY_PHASES = ['Pending', 'Creating', 'Ready', 'Frozen', 'Archived', 'Failed'] as const;

export const ManagedKeyStatusSchema = z.object({
  observedGeneration: z.int().min(0).optional(),
  phase: z.enum(MANAGED_KEY_PHASES).optional(),
  keyId: z.string().max(64).optional(),
  address: z.string().max(256).optional(),
  addresses: z.record(z.string(), z.string().max(256)).optional(),
  publicKey: z.string().max(512).optional(),
  shardNodes: z.array(z.string().max(16)).max(16).optional(),
  keyStatus: z.enum(KEY_STATUSES).optional(),
  conditions: ConditionsSchema.optional(),
});
export type ManagedKeyStatus = z.infer<typeof ManagedKeyStatusSchema>;

export interface ManagedKey {
  apiVersion: 'custos.dev/v1alpha1';
  kind: 'ManagedKey';
  metadata: ObjectMeta;
  spec: ManagedKeySpec;
  status?: ManagedKeyStatus;
}
