/**
 * The gateway's HTTP contract (README "HTTP API", gateway/README.md) as zod schemas: the one
 * source of request validation, TypeScript types, the OpenAPI document and the SDK's types.
 * JSON field names are snake_case, as custody APIs of this kind use.
 */
import { z } from 'zod';
import { CLIENT_KEY_ALGORITHMS, PolicyApprovalSchema, SignPolicySchema } from '../authz/client-keys.ts';

export const ALGORITHMS = ['GG18', 'DMZ21', 'DKLS23', 'EDDSA', 'BLS'] as const;
/**
 * The algorithms this build's nodes and gateway implement (common/protocols/registry.ts). A
 * deployment may enable a subset; anything else is refused up front (422), never at the nodes.
 */
export const SERVED_ALGORITHMS = ['GG18', 'EDDSA', 'BLS'] as const satisfies readonly (typeof ALGORITHMS)[number][];
export const CURVES = ['SECP256K1', 'ED25519', 'BLS12_381'] as const;
export const KEY_STATUSES = ['ACTIVE', 'FROZEN', 'ARCHIVED'] as const;
export const DATA_TYPES = ['HASH', 'EIP191', 'EIP712', 'RAW'] as const;

export const AlgorithmSchema = z.enum(ALGORITHMS);
export const ServedAlgorithmSchema = z.enum(SERVED_ALGORITHMS);
export const CurveSchema = z.enum(CURVES);
export const KeyStatusSchema = z.enum(KEY_STATUSES);
export const DataTypeSchema = z.enum(DATA_TYPES);
export type Algorithm = z.infer<typeof AlgorithmSchema>;
export type Curve = z.infer<typeof CurveSchema>;
export type KeyStatus = z.infer<typeof KeyStatusSchema>;
export type DataType = z.infer<typeof DataTypeSchema>;

/** The curve each algorithm runs on; a request naming another curve is refused. */
export const CURVE_OF_ALGORITHM: Record<Algorithm, Curve> = {
  GG18: 'SECP256K1',
  DMZ21: 'SECP256K1',
  DKLS23: 'SECP256K1',
  EDDSA: 'ED25519',
  BLS: 'BLS12_381',
};

/** The data types each curve's signatures accept. */
export const DATA_TYPES_OF_CURVE: Record<Curve, readonly DataType[]> = {
  SECP256K1: ['HASH', 'EIP191', 'EIP712'],
  ED25519: ['RAW'],
  BLS12_381: ['RAW'],
};

export const KeyFormatSchema = z
  .object({
    type: z.literal('ECC').default('ECC'),
    curve: CurveSchema.default('SECP256K1'),
    algo_type: AlgorithmSchema.default('GG18'),
    size: z.literal(32).default(32),
  })
  .strict();

export const ShardPropertiesSchema = z
  .object({
    shard_count: z.number().int().min(2).max(16).default(3),
    threshold: z.number().int().min(2).max(16).default(2),
  })
  .strict();

export const LabelSchema = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._/:@-]*$/, 'label: letters, digits and . _ / : @ - only');

export const GenerateKeyRequestSchema = z
  .object({
    format: KeyFormatSchema.default({ type: 'ECC', curve: 'SECP256K1', algo_type: 'GG18', size: 32 }),
    shard_properties: ShardPropertiesSchema.default({ shard_count: 3, threshold: 2 }),
    label: LabelSchema.optional(),
    sign_policy: z
      .object({
        signers: z
          .array(z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/))
          .min(1)
          .max(64),
        change_quorum: z.number().int().min(1).max(64).default(1),
      })
      .strict()
      .optional()
      .describe(
        'asymmetric access keys that may sign with this key, checked by every holder node; default: the ' +
          'requesting key when it is asymmetric, else none (the key trusts the gateway)',
      ),
  })
  .strict();
export type GenerateKeyRequest = z.infer<typeof GenerateKeyRequestSchema>;

/** Header that makes key generation idempotent: the same value returns the same key. */
export const IDEMPOTENCY_HEADER = 'idempotency-key';

export const KeyIdSchema = z.string().regex(/^key_[0-9a-f]{32}$/, 'key_id has the form key_<32 hex digits>');

export const KeySchema = z.object({
  key_id: KeyIdSchema,
  label: z.string().nullable(),
  status: KeyStatusSchema,
  format: z.object({ type: z.literal('ECC'), curve: CurveSchema, algo_type: AlgorithmSchema, size: z.number().int() }),
  shard_properties: z.object({ shard_count: z.number().int(), threshold: z.number().int() }),
  public_key: z.string().describe('0x-hex; compressed point for SECP256K1 and BLS12_381, 32 bytes for ED25519'),
  address: z.string(),
  addresses: z.record(z.string(), z.string()),
  shard_nodes: z.array(z.string()),
  sign_policy: z
    .object({ version: z.number().int(), signers: z.array(z.string()), change_quorum: z.number().int() })
    .optional()
    .describe('access keys the holder nodes accept client authorisations from; absent: the key trusts the gateway'),
  created_at: z.string(),
  updated_at: z.string(),
});
export type Key = z.infer<typeof KeySchema>;

export const ListKeysQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().max(200).optional(),
    label: z.string().max(253).optional(),
    status: KeyStatusSchema.optional(),
  })
  .strict();
export type ListKeysQuery = z.infer<typeof ListKeysQuerySchema>;

/** Bitcoin addresses are mainnet unless the caller asks for testnet. */
export const GetKeyQuerySchema = z
  .object({
    bitcoin_network: z.enum(['mainnet', 'testnet']).default('mainnet'),
  })
  .strict();
export type GetKeyQuery = z.infer<typeof GetKeyQuerySchema>;

export const ListKeysResponseSchema = z.object({
  keys: z.array(KeySchema),
  next_cursor: z.string().nullable(),
});
export type ListKeysResponse = z.infer<typeof ListKeysResponseSchema>;

export const HexDataSchema = z.string().regex(/^0x([0-9a-fA-F]{2})*$/, 'data must be 0x-prefixed hex bytes');

export const SignRequestSchema = z
  .object({
    data: z.union([z.string(), z.record(z.string(), z.unknown())]),
    data_type: DataTypeSchema,
    encoding: z.enum(['hex', 'utf8']).optional().describe('EIP191 only: how `data` is to be read (default hex)'),
  })
  .strict();
export type SignRequest = z.infer<typeof SignRequestSchema>;

export const SignResponseSchema = z.object({
  key_id: KeyIdSchema,
  signature: z.string().describe('0x-hex; ECDSA: r‖s‖v (65 bytes, low-s, v = 27 + recovery id)'),
  r: z.string().optional(),
  s: z.string().optional(),
  v: z.number().int().optional(),
  recovery_id: z.number().int().optional(),
  digest: z.string().optional().describe('ECDSA: the 32-byte digest that was signed'),
  signer_nodes: z.array(z.string()),
});
export type SignResponse = z.infer<typeof SignResponseSchema>;

export const UpdateStatusRequestSchema = z
  .object({
    status: KeyStatusSchema,
    reason: z.string().max(500).optional(),
  })
  .strict();
export type UpdateStatusRequest = z.infer<typeof UpdateStatusRequestSchema>;

/** Header carrying the client's sign authorisation (asymmetric access keys): 64-byte signature, hex. */
export const SIGN_AUTHORIZATION_HEADER = 'x-kms-sign-authorization';

/** PUT /api/v1/keys/{key_id}/sign-policy: the next policy and approvals by current signers. */
export const SignPolicyChangeRequestSchema = z
  .object({ policy: SignPolicySchema, approvals: z.array(PolicyApprovalSchema).min(1).max(64) })
  .strict();
export type SignPolicyChangeRequest = z.infer<typeof SignPolicyChangeRequestSchema>;

/** POST /api/v1/access-keys: registers the public half of an asymmetric access key. */
export const CreateAccessKeyRequestSchema = z
  .object({
    access_key: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/),
    algorithm: z.enum(CLIENT_KEY_ALGORITHMS),
    public_key: z.string(),
    description: z.string().max(255).optional(),
  })
  .strict();
export type CreateAccessKeyRequest = z.infer<typeof CreateAccessKeyRequestSchema>;

export const ERROR_CODES = [
  'BAD_REQUEST',
  'VALIDATION_FAILED',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'CLIENT_AUTHORIZATION_REQUIRED',
  'CLIENT_AUTHORIZATION_REFUSED',
  'ABORT_LIMIT_REACHED',
  'NOT_FOUND',
  'KEY_NOT_ACTIVE',
  'CONFLICT',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_ALGORITHM',
  'INVALID_SHARD_PROPERTIES',
  'INVALID_SIGN_DATA',
  'RATE_LIMITED',
  'CLUSTER_UNAVAILABLE',
  'MPC_SESSION_FAILED',
  'BACKUP_NOT_CONFIGURED',
  'BACKUP_FAILED',
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export const ErrorResponseSchema = z.object({
  error: z.object({
    code: z.enum(ERROR_CODES),
    message: z.string(),
    request_id: z.string(),
  }),
});
export type ErrorResponse = z.infer<typeof ErrorResponseSchema>;

export const NodeStatusSchema = z.object({
  node_id: z.string(),
  reachable: z.boolean(),
  sealed: z.boolean(),
  share_count: z.number().int(),
  version: z.string(),
  gg18_preparams_ready: z
    .number()
    .int()
    .describe('GG18 pre-params ready; keygen on an empty pool waits for safe primes'),
});

/** Backup state as `/ready` reports it; present when backups are configured. */
export const BackupStatusSchema = z.object({
  last_success_at: z.string().nullable(),
  last_set_id: z.string().nullable(),
  size_bytes: z.number().int().nullable(),
  age_seconds: z.number().int().nullable(),
  last_error: z.string().nullable(),
});

export const ReadyResponseSchema = z.object({
  ready: z.boolean(),
  quorum: z.number().int(),
  nodes: z.array(NodeStatusSchema),
  backup: BackupStatusSchema.optional(),
});

export const BackupCreatedSchema = z.object({
  set_id: z.string(),
  size_bytes: z.number().int(),
  duration_ms: z.number().int(),
  files: z.number().int(),
  locations: z.array(z.string()),
  pruned: z.array(z.string()),
});

export const BackupListSchema = z.object({
  location: z.string(),
  sets: z.array(
    z.object({ set_id: z.string(), created_at: z.string(), complete: z.boolean(), size_bytes: z.number().int() }),
  ),
});

/** What `custos backup verify|restore` reports back so the gateway audits it. */
export const BackupReportSchema = z.strictObject({
  operation: z.enum(['VERIFY', 'RESTORE']),
  result: z.enum(['SUCCESS', 'FAILURE']),
  node_id: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,62}$/)
    .optional(),
  error_code: z.string().max(64).optional(),
  message: z.string().max(500).optional(),
  duration_ms: z.number().int().nonnegative().optional(),
});

/** The dev credentials file `make run` writes to $CUSTOS_HOME/credentials.json, read by the CLI. */
export const CredentialsFileSchema = z.object({
  base_url: z.string().url(),
  access_key: z.string().min(1),
  secret_key: z.string().min(1),
});
export type CredentialsFile = z.infer<typeof CredentialsFileSchema>;

/** The same file for an asymmetric access key: the private key stays with the client. */
export const ClientKeyCredentialsFileSchema = z.object({
  base_url: z.string().url(),
  access_key: z.string().min(1),
  /** PKCS#8 PEM of an Ed25519 or ECDSA P-256 key. */
  private_key: z.string().includes('PRIVATE KEY'),
});
export type ClientKeyCredentialsFile = z.infer<typeof ClientKeyCredentialsFileSchema>;

/** What the CLI reads: either kind. */
export const AnyCredentialsFileSchema = z.union([CredentialsFileSchema, ClientKeyCredentialsFileSchema]);
export type AnyCredentialsFile = z.infer<typeof AnyCredentialsFileSchema>;
