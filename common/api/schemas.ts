/**
 * The gateway's HTTP contract (README "HTTP API", gateway/README.md) as zod schemas: the one
 * source of request validation, TypeScript types, the OpenAPI document and the SDK's types.
 * JSON field names are snake_case, as custody APIs of this kind use.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { CLIENT_KEY_ALGORITHMS, PolicyApprovalSchema, SignPolicySchema } from '../authz/client-keys.ts';

export const ALGORITHMS = ['GG18', 'DMZ21', 'DKLS23', 'EDDSA', 'BLS'] as const;
/**
 * The algorithms this build's nodes and gateway implement (common/protocols/registry.ts). A
 * deployment may enable a subset; anything else is refused up front (422), never at the nodes.
 */
export const SERVED_ALGORITHMS = [
  'GG18',
  'DKLS23',
  'EDDSA',
  'BLS',
] as const satisfies readonly (typeof ALGORITHMS)[number][];
export const CURVES = ['SECP256K1', 'ED25519', 'BLS12_381'] as const;
export const KEY_STATUSES = ['ACTIVE', 'FROZEN', 'ARCHIVED', 'DESTROYED'] as const;
/** Statuses a client may set; DESTROYED comes only from an approved DELETE /api/v1/keys/{key_id}. */
export const SETTABLE_KEY_STATUSES = ['ACTIVE', 'FROZEN', 'ARCHIVED'] as const;
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

export const OperationStatusSchema = z.enum(['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED']);
export type OperationStatus = z.infer<typeof OperationStatusSchema>;

/** A long-running key operation (a share refresh), polled at GET /api/v1/operations/{operation_id}. */
export const OperationSchema = z.object({
  operation_id: z.string().regex(/^op_[0-9a-f]{32}$/),
  kind: z.literal('REFRESH'),
  key_id: KeyIdSchema,
  status: OperationStatusSchema,
  reason: z.string().nullable().describe('why it FAILED, or what a RUNNING operation still waits for'),
  from_version: z.number().int().describe('share version before the refresh'),
  to_version: z.number().int().describe('share version the refresh moves the key to'),
  created_at: z.string(),
  updated_at: z.string(),
});
export type Operation = z.infer<typeof OperationSchema>;

export const OperationIdSchema = z.string().regex(/^op_[0-9a-f]{32}$/, 'operation_id has the form op_<32 hex digits>');

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
    status: z.enum(SETTABLE_KEY_STATUSES),
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

export const ERROR_CODES = [
  'BAD_REQUEST',
  'VALIDATION_FAILED',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'METHOD_NOT_ALLOWED',
  'CLIENT_AUTHORIZATION_REQUIRED',
  'CLIENT_AUTHORIZATION_REFUSED',
  'ABORT_LIMIT_REACHED',
  'POLICY_DENIED',
  'NOT_FOUND',
  'KEY_NOT_ACTIVE',
  'KEY_FROZEN',
  'KEY_ARCHIVED',
  'OPERATION_IN_PROGRESS',
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
  /** The admin console's first user: written by `make run` (dev mode) only. */
  console_url: z.string().url().optional(),
  console_user: z.string().min(1).optional(),
  console_password: z.string().min(1).optional(),
  console_totp_secret: z.string().min(1).optional(),
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

// ---- Access-key management and audit query (gateway/README.md "Roles and scopes", "Audit log") ----

export const ACCESS_KEY_ROLES = ['admin', 'key-admin', 'signer', 'approver', 'auditor'] as const;
export const AccessKeyRoleSchema = z.enum(ACCESS_KEY_ROLES);
export const AccessKeyIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,128}$/, 'access key id: 1 to 128 of [A-Za-z0-9_.-]');

/** One key scope: a key id, an exact label, or a label prefix. */
export const ScopeSchema = z.union([
  z.strictObject({ key_id: KeyIdSchema }),
  z.strictObject({ label: LabelSchema }),
  z.strictObject({ label_prefix: z.string().min(1).max(253) }),
]);

/** An IPv4 or IPv6 address, or a CIDR block of one. */
export const CidrSchema = z
  .string()
  .max(64)
  .refine((entry) => {
    const [addr = '', bits, extra] = entry.split('/');
    const family = isIP(addr);
    if (family === 0 || extra !== undefined) return false;
    if (bits === undefined) return true;
    return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
  }, 'not an IPv4/IPv6 address or CIDR (e.g. 10.0.0.0/8, 2001:db8::/32)');

export const AccessKeyStatusSchema = z.enum(['ENABLED', 'DISABLED']);

/**
 * POST /api/v1/access-keys. Without `public_key` the gateway makes an HMAC secret and answers it
 * once; with `algorithm` and `public_key` it registers an asymmetric key (the client keeps the
 * private half) under `access_key`.
 */
export const CreateAccessKeyRequestSchema = z
  .object({
    name: z.string().min(1).max(128).optional(),
    roles: z.array(AccessKeyRoleSchema).min(1).max(ACCESS_KEY_ROLES.length).default(['signer']),
    scopes: z.array(ScopeSchema).max(256).default([]),
    allowed_cidrs: z.array(CidrSchema).max(256).default([]),
    access_key: AccessKeyIdSchema.optional().describe('asymmetric keys only: the id the client chose'),
    algorithm: z.enum(CLIENT_KEY_ALGORITHMS).optional(),
    public_key: z.string().optional(),
    description: z.string().max(255).optional(),
  })
  .strict()
  .superRefine((req, ctx) => {
    const asymmetric = req.public_key !== undefined || req.algorithm !== undefined;
    if (asymmetric && (req.public_key === undefined || req.algorithm === undefined || !req.access_key)) {
      ctx.addIssue({ code: 'custom', message: 'an asymmetric access key needs access_key, algorithm and public_key' });
    }
    if (!asymmetric && req.access_key !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['access_key'], message: 'the gateway names HMAC access keys' });
    }
  });
export type CreateAccessKeyRequest = z.infer<typeof CreateAccessKeyRequestSchema>;

/** An access key as listed: never its secret. */
export const AccessKeyInfoSchema = z.object({
  access_key: z.string(),
  name: z.string().nullable(),
  status: AccessKeyStatusSchema,
  roles: z.array(AccessKeyRoleSchema),
  scopes: z.array(ScopeSchema),
  allowed_cidrs: z.array(z.string()),
  kind: z.enum(['HMAC', 'ED25519', 'P256']),
  created_at: z.string(),
  previous_secret_expires_at: z
    .string()
    .nullable()
    .describe('after a rotation, until when the old secret still verifies'),
});
export type AccessKeyInfo = z.infer<typeof AccessKeyInfoSchema>;

/** 201 of create (HMAC) and 200 of rotate: the credentials.json fields, the secret shown this once. */
export const AccessKeySecretResponseSchema = AccessKeyInfoSchema.extend({
  secret_key: z.string().describe('shown once; the gateway keeps it sealed and never returns it again'),
});

export const ListAccessKeysResponseSchema = z.object({ access_keys: z.array(AccessKeyInfoSchema) });
export const UpdateAccessKeyStatusRequestSchema = z.object({ status: AccessKeyStatusSchema }).strict();
export const UpdateAllowedCidrsRequestSchema = z.object({ allowed_cidrs: z.array(CidrSchema).max(256) }).strict();
export const UpdateScopesRequestSchema = z.object({ scopes: z.array(ScopeSchema).max(256) }).strict();
export const RotateAccessKeyRequestSchema = z
  .object({
    grace_seconds: z
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 3600)
      .default(3600)
      .describe('how long the old secret keeps verifying (default one hour)'),
  })
  .strict();

/** Operations as the audit log names them (the spec's section 7.1 plus the gateway's own). */
export const AuditQuerySchema = z
  .object({
    key_id: z.string().max(64).optional(),
    operation: z
      .string()
      .regex(/^[A-Z_]{1,32}$/, 'operation: an audit operation name such as KEY_SIGN')
      .optional(),
    access_key: z.string().max(128).optional(),
    result: z.enum(['SUCCESS', 'FAILURE', 'REJECTED']).optional(),
    from: z.iso.datetime({ offset: true }).optional().describe('ISO-8601, inclusive'),
    to: z.iso.datetime({ offset: true }).optional().describe('ISO-8601, exclusive'),
    cursor: z.string().max(200).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();
export type AuditQuery = z.infer<typeof AuditQuerySchema>;

/** One audit entry with every hashed field, so a client can recompute the chain. */
export const AuditItemSchema = z.object({
  seq: z.number().int(),
  operation: z.string(),
  result: z.string(),
  user_id: z.string().nullable(),
  key_id: z.string().nullable(),
  request_id: z.string().nullable(),
  error_code: z.string().nullable(),
  created_time: z.string(),
  service_name: z.string(),
  node_id: z.string().nullable(),
  duration_ms: z.number().int().nullable(),
  data_hash: z.string().nullable(),
  audit_trail: z.record(z.string(), z.unknown()),
  prev_hash: z.string(),
  entry_hash: z.string(),
});
export type AuditItem = z.infer<typeof AuditItemSchema>;

export const AuditPageSchema = z.object({ items: z.array(AuditItemSchema), next_cursor: z.string().nullable() });
export type AuditPage = z.infer<typeof AuditPageSchema>;

/** GET /api/v1/audit/verify: the chain checked end to end and the live head against the latest checkpoint. */
export const AuditVerifyResponseSchema = z.object({
  ok: z.boolean(),
  entries: z.number().int(),
  checkpoints: z.number().int(),
  head: z.object({ seq: z.number().int(), entry_hash: z.string(), created_time: z.string() }).nullable(),
  latest_checkpoint: z.object({ seq: z.number().int(), entry_hash: z.string(), created_at: z.string() }).nullable(),
  unsealed_entries: z.number().int().describe('entries after the latest signed checkpoint'),
  first_bad_seq: z.number().int().optional(),
  reason: z.string().optional(),
  public_key: z.string().describe('hex Ed25519 key that verifies the checkpoints'),
});
export type AuditVerifyResponse = z.infer<typeof AuditVerifyResponseSchema>;
// ---- Governance: policies, approvals, key destruction (docs/policies-and-approvals.md) ----

export const APPROVAL_STATUS_VALUES = [
  'PENDING',
  'APPROVED',
  'REJECTED',
  'EXPIRED',
  'EXECUTING',
  'EXECUTED',
  'FAILED',
] as const;
export const APPROVAL_OPERATION_VALUES = [
  'KEY_SIGN',
  'KEY_STATUS_CHANGE',
  'KEY_DESTROY',
  'POLICY_CHANGE',
  'ACCESS_KEY_CREATE',
] as const;

export const ApprovalIdSchema = z.string().regex(/^apr_[0-9a-f]{32}$/, 'approval_id has the form apr_<32 hex digits>');
export const PolicyIdSchema = z.string().regex(/^pol_[0-9a-f]{32}$/, 'policy_id has the form pol_<32 hex digits>');

/** An approval request as the API shows it; 202 answers carry it too. */
export const ApprovalSchema = z.object({
  approval_id: ApprovalIdSchema,
  operation: z.enum(APPROVAL_OPERATION_VALUES),
  status: z.enum(APPROVAL_STATUS_VALUES),
  requester: z.string(),
  key_id: z.string().nullable(),
  reason: z.string().nullable(),
  request: z.record(z.string(), z.unknown()).describe('what runs once approved'),
  requirements: z.array(
    z.object({
      source: z.string().describe('policy/rule, or gateway:key_destruction'),
      required: z.number().int(),
      approvers: z.array(z.string()).nullable().describe('null: any approver other than the requester'),
    }),
  ),
  decisions: z.array(
    z.object({
      access_key: z.string(),
      decision: z.enum(['APPROVE', 'REJECT']),
      reason: z.string().nullable(),
      decided_at: z.string(),
    }),
  ),
  created_at: z.string(),
  expires_at: z.string(),
  updated_at: z.string(),
  result: z.unknown().optional().describe("EXECUTED: the operation's response (e.g. the signature)"),
  error: z
    .object({ code: z.string(), message: z.string(), details: z.unknown().optional() })
    .optional()
    .describe('FAILED: why the approved operation did not complete'),
});
export type ApprovalView = z.infer<typeof ApprovalSchema>;

export const ApprovalDecisionRequestSchema = z.strictObject({ reason: z.string().min(1).max(500).optional() });
export const RejectRequestSchema = z.strictObject({ reason: z.string().min(1).max(500) });

export const ListApprovalsQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
  status: z.enum(APPROVAL_STATUS_VALUES).optional(),
  operation: z.enum(APPROVAL_OPERATION_VALUES).optional(),
  key_id: KeyIdSchema.optional(),
});
export type ListApprovalsQuery = z.infer<typeof ListApprovalsQuerySchema>;

export const ListApprovalsResponseSchema = z.object({
  items: z.array(ApprovalSchema),
  next_cursor: z.string().nullable(),
});

/** Optional reason on DELETE /api/v1/keys/{key_id} and policy changes, as a query parameter. */
export const ReasonQuerySchema = z.strictObject({ reason: z.string().min(1).max(500).optional() });
