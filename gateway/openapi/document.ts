/** The OpenAPI 3.1 document, generated from the same zod schemas that validate requests. */
import { z } from 'zod';
import {
  ErrorResponseSchema,
  GenerateKeyRequestSchema,
  KeyIdSchema,
  KeySchema,
  ListKeysQuerySchema,
  OperationIdSchema,
  OperationSchema,
  GetKeyQuerySchema,
  ListKeysResponseSchema,
  ReadyResponseSchema,
  CreateAccessKeyRequestSchema,
  AccessKeyInfoSchema,
  AccessKeySecretResponseSchema,
  AccessKeyIdSchema,
  AuditPageSchema,
  AuditQuerySchema,
  AuditVerifyResponseSchema,
  ListAccessKeysResponseSchema,
  RotateAccessKeyRequestSchema,
  UpdateAccessKeyStatusRequestSchema,
  UpdateAllowedCidrsRequestSchema,
  UpdateScopesRequestSchema,
  SignPolicyChangeRequestSchema,
  SignRequestSchema,
  SignResponseSchema,
  UpdateStatusRequestSchema,
  ApprovalDecisionRequestSchema,
  ApprovalIdSchema,
  ApprovalSchema,
  BackupCreatedSchema,
  BackupListSchema,
  BackupReportSchema,
  ListApprovalsQuerySchema,
  ListApprovalsResponseSchema,
  PolicyIdSchema,
  ReasonQuerySchema,
  RejectRequestSchema,
} from '../../common/api/schemas.ts';
import { PolicyDocumentSchema, PolicySchema } from '../../common/api/policy-document.ts';
import { AUTH_HEADERS } from '../../common/auth/request-signing.ts';
import { SET_ID_PATTERN } from '../../common/backup/manifest.ts';

type JsonSchema = Record<string, unknown>;

/** OpenAPI 3.1 schemas are JSON Schema 2020-12; the top-level $schema marker is dropped. */
function schemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _omit, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' });
  return rest;
}

const json = (schema: z.ZodType, description: string) => ({
  description,
  content: { 'application/json': { schema: schemaOf(schema, 'output') } },
});
const body = (schema: z.ZodType) => ({
  required: true,
  content: { 'application/json': { schema: schemaOf(schema, 'input') } },
});

const errorStatuses: Record<string, string> = {
  '400': 'malformed JSON, a field or query parameter that fails validation (a malformed cursor too)',
  '401': 'missing, malformed, stale, replayed or wrong request signature',
  '403':
    'access key disabled, source address outside its allow-list, a role that does not grant the operation, ' +
    'or a key outside its scopes (the message names the missing role or scope), or POLICY_DENIED',
  '404': 'no such key, access key, policy, approval or operation',
  '409':
    'conflict: idempotency key reused with another body, key not active, archived key; refresh: KEY_FROZEN, KEY_ARCHIVED, OPERATION_IN_PROGRESS',
  '413': 'body over the size limit',
  '422': 'request valid but not servable: algorithm, curve, shard properties or sign data',
  '429': 'rate limited; see Retry-After',
  '502': 'MPC session failed; the message names the culprit node when known',
  '503': 'not enough healthy nodes; backups: not configured (BACKUP_NOT_CONFIGURED) or a store failed (BACKUP_FAILED)',
  '500': 'internal error (a bug: reported with its request id)',
};

function errors(...codes: string[]): Record<string, unknown> {
  return Object.fromEntries(codes.map((c) => [c, json(ErrorResponseSchema, errorStatuses[c] ?? 'error')]));
}

const accessKeyParam = { name: 'id', in: 'path', required: true, schema: schemaOf(AccessKeyIdSchema, 'input') };

const keyIdParam = {
  name: 'key_id',
  in: 'path',
  required: true,
  schema: schemaOf(KeyIdSchema, 'input'),
};

/** Query parameters from the object schema, one per property. */
function queryParams(schema: z.ZodObject): unknown[] {
  const js = schemaOf(schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(js.properties ?? {}).map(([name, s]) => ({
    name,
    in: 'query',
    required: js.required?.includes(name) ?? false,
    schema: s,
  }));
}

/** All four headers together authenticate a request (README "HTTP API"): one requirement naming each. */
const AUTH = [{ AccessKey: [], Timestamp: [], Nonce: [], Signature: [] }];
/** What any signed operation can answer before its own work: validation, auth, roles, size, rate, a bug. */
const authErrors = ['400', '401', '403', '413', '429', '500'];

export function buildOpenApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Custos KMS gateway',
      version: '1.0.0',
      description:
        'MPC/TSS key management. Every /api/v1/keys request is signed: ' +
        'HMAC-SHA256(secret key, METHOD \\n PATH_WITH_QUERY \\n TIMESTAMP \\n NONCE \\n hex(SHA-256(body))) ' +
        `in ${AUTH_HEADERS.signature}, with ${AUTH_HEADERS.accessKey}, ${AUTH_HEADERS.timestamp} (unix ms) and ${AUTH_HEADERS.nonce}.`,
    },
    components: {
      securitySchemes: {
        AccessKey: { type: 'apiKey', in: 'header', name: 'X-KMS-AccessKey', description: 'access key id' },
        Timestamp: {
          type: 'apiKey',
          in: 'header',
          name: 'X-KMS-Timestamp',
          description: 'unix time in ms, within 300 s',
        },
        Nonce: {
          type: 'apiKey',
          in: 'header',
          name: 'X-KMS-Nonce',
          description: '16-64 of [A-Za-z0-9_-], never reused',
        },
        Signature: {
          type: 'apiKey',
          in: 'header',
          name: 'X-KMS-Signature',
          description: 'lowercase hex HMAC-SHA256 (or Ed25519 / P-256 for asymmetric keys) of the string to sign',
        },
      },
    },
    paths: {
      '/api/v1/keys/generate': {
        post: {
          operationId: 'generateKey',
          security: AUTH,
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              schema: { type: 'string', minLength: 1, maxLength: 255 },
            },
          ],
          requestBody: body(GenerateKeyRequestSchema),
          responses: {
            '201': json(KeySchema, 'key generated'),
            '200': json(KeySchema, 'idempotent replay: the key generated by the first request'),
            ...errors(...authErrors, '409', '422', '502', '503'),
          },
        },
      },
      '/api/v1/keys': {
        get: {
          operationId: 'listKeys',
          security: AUTH,
          parameters: queryParams(ListKeysQuerySchema),
          responses: { '200': json(ListKeysResponseSchema, 'a page of keys, newest first'), ...errors(...authErrors) },
        },
      },
      '/api/v1/keys/{key_id}': {
        get: {
          operationId: 'getKey',
          security: AUTH,
          parameters: [keyIdParam, ...queryParams(GetKeyQuerySchema)],
          responses: { '200': json(KeySchema, 'the key'), ...errors(...authErrors, '404') },
        },
        delete: {
          operationId: 'destroyKey',
          security: AUTH,
          description: 'always through approval; once approved every holder erases its share (status DESTROYED)',
          parameters: [keyIdParam, ...queryParams(ReasonQuerySchema)],
          responses: {
            '202': json(ApprovalSchema, 'the destruction request, waiting for approval'),
            ...errors(...authErrors, '404', '409'),
          },
        },
      },
      '/api/v1/keys/{key_id}/sign': {
        post: {
          operationId: 'sign',
          security: AUTH,
          parameters: [keyIdParam],
          requestBody: body(SignRequestSchema),
          responses: {
            '200': json(SignResponseSchema, 'the signature'),
            '202': json(ApprovalSchema, 'a policy routes this sign to approval; the result appears on the approval'),
            ...errors(...authErrors, '404', '409', '422', '502', '503'),
          },
        },
      },
      // ---- backups (docs/operations.md "Backups") ----
      '/api/v1/backups': {
        post: {
          operationId: 'createBackup',
          description: 'admin: write a backup set now to the primary and DR object stores',
          security: AUTH,
          responses: {
            '201': json(BackupCreatedSchema, 'the set, in every location'),
            ...errors(...authErrors, '409', '503'),
          },
        },
        get: {
          operationId: 'listBackups',
          security: AUTH,
          responses: {
            '200': json(BackupListSchema, 'the sets in the primary store'),
            ...errors(...authErrors, '503'),
          },
        },
      },
      ...Object.fromEntries(
        (['verifications', 'restores'] as const).map((path) => [
          `/api/v1/backups/{set_id}/${path}`,
          {
            post: {
              operationId: path === 'verifications' ? 'reportBackupVerification' : 'reportBackupRestore',
              description: 'admin: record the outcome of an offline `custos backup verify|restore` in the audit log',
              security: AUTH,
              parameters: [
                {
                  name: 'set_id',
                  in: 'path',
                  required: true,
                  schema: { type: 'string', pattern: SET_ID_PATTERN.source },
                },
              ],
              requestBody: body(BackupReportSchema),
              responses: {
                '201': json(z.object({ audit_seq: z.number().int() }), 'recorded'),
                ...errors(...authErrors),
              },
            },
          },
        ]),
      ),
      '/api/v1/keys/{key_id}/refresh': {
        post: {
          operationId: 'refreshKey',
          description:
            'Proactive share refresh (docs/key-lifecycle.md): same public key and addresses, new shares at every holder. Runs in the background; poll the operation.',
          security: AUTH,
          parameters: [keyIdParam],
          responses: {
            '202': json(OperationSchema, 'refresh accepted; Location names the operation'),
            ...errors(...authErrors, '404', '409', '422'),
          },
        },
      },
      '/api/v1/operations/{operation_id}': {
        get: {
          operationId: 'getOperation',
          security: AUTH,
          parameters: [
            { name: 'operation_id', in: 'path', required: true, schema: schemaOf(OperationIdSchema, 'input') },
          ],
          responses: {
            '200': json(OperationSchema, 'PENDING, RUNNING, SUCCEEDED, or FAILED with the reason'),
            ...errors(...authErrors, '404'),
          },
        },
      },
      '/api/v1/keys/{key_id}/sign-policy': {
        put: {
          operationId: 'changeSignPolicy',
          security: AUTH,
          parameters: [keyIdParam],
          requestBody: body(SignPolicyChangeRequestSchema),
          responses: {
            '200': json(KeySchema, 'every holder verified the approvals and stores the new policy'),
            ...errors(...authErrors, '404', '409', '422', '502', '503'),
          },
        },
      },
      '/api/v1/keys/{key_id}/aborts': {
        get: {
          operationId: 'keyAborts',
          security: AUTH,
          parameters: [keyIdParam],
          responses: {
            '200': { description: 'failed sessions per signer set, by outcome' },
            ...errors(...authErrors, '404'),
          },
        },
        delete: {
          operationId: 'clearKeyAborts',
          security: AUTH,
          parameters: [keyIdParam],
          responses: {
            '200': { description: "each holder's cleared count of unattributed aborts" },
            ...errors(...authErrors, '404', '409', '502', '503'),
          },
        },
      },
      '/api/v1/keys/{key_id}/status': {
        put: {
          operationId: 'updateKeyStatus',
          security: AUTH,
          parameters: [keyIdParam],
          requestBody: body(UpdateStatusRequestSchema),
          responses: {
            '200': json(KeySchema, 'the key with its new status'),
            '202': json(ApprovalSchema, 'a policy protects this key: the change waits for approval'),
            ...errors(...authErrors, '404', '409'),
          },
        },
      },
      // ---- access-key management and audit (gateway/README.md "Roles and scopes", "Audit log") ----
      '/api/v1/access-keys': {
        post: {
          operationId: 'createAccessKey',
          description: 'admin: an HMAC key (secret answered once) or the public half of an asymmetric key',
          security: AUTH,
          requestBody: body(CreateAccessKeyRequestSchema),
          responses: {
            '201': json(AccessKeySecretResponseSchema, 'created; secret_key only for HMAC keys, shown this once'),
            '202': json(
              AccessKeySecretResponseSchema.extend({ approval: ApprovalSchema }),
              'an admin key: created DISABLED (secret shown this once) and enabled only when its approval is granted',
            ),
            ...errors(...authErrors, '409'),
          },
        },
        get: {
          operationId: 'listAccessKeys',
          security: AUTH,
          responses: {
            '200': json(ListAccessKeysResponseSchema, 'every access key, never a secret'),
            ...errors(...authErrors),
          },
        },
      },
      '/api/v1/access-keys/{id}': {
        get: {
          operationId: 'getAccessKey',
          security: AUTH,
          parameters: [accessKeyParam],
          responses: { '200': json(AccessKeyInfoSchema, 'the access key'), ...errors(...authErrors, '404') },
        },
      },
      '/api/v1/access-keys/{id}/rotate': {
        post: {
          operationId: 'rotateAccessKey',
          security: AUTH,
          parameters: [accessKeyParam],
          requestBody: { ...body(RotateAccessKeyRequestSchema), required: false },
          responses: {
            '200': json(
              AccessKeySecretResponseSchema,
              'the new secret, shown once; the old one verifies until the grace ends',
            ),
            ...errors(...authErrors, '404', '409'),
          },
        },
      },
      '/api/v1/access-keys/{id}/status': {
        put: {
          operationId: 'updateAccessKeyStatus',
          security: AUTH,
          parameters: [accessKeyParam],
          requestBody: body(UpdateAccessKeyStatusRequestSchema),
          responses: { '200': json(AccessKeyInfoSchema, 'the access key'), ...errors(...authErrors, '404', '409') },
        },
      },
      '/api/v1/access-keys/{id}/allowed-cidrs': {
        put: {
          operationId: 'updateAccessKeyAllowedCidrs',
          security: AUTH,
          parameters: [accessKeyParam],
          requestBody: body(UpdateAllowedCidrsRequestSchema),
          responses: { '200': json(AccessKeyInfoSchema, 'the access key'), ...errors(...authErrors, '404') },
        },
      },
      '/api/v1/access-keys/{id}/scopes': {
        put: {
          operationId: 'updateAccessKeyScopes',
          security: AUTH,
          parameters: [accessKeyParam],
          requestBody: body(UpdateScopesRequestSchema),
          responses: { '200': json(AccessKeyInfoSchema, 'the access key'), ...errors(...authErrors, '404') },
        },
      },
      '/api/v1/audit': {
        get: {
          operationId: 'queryAudit',
          description: 'auditor or admin: entries oldest first, each with every hashed field',
          security: AUTH,
          parameters: queryParams(AuditQuerySchema),
          responses: { '200': json(AuditPageSchema, 'a page of audit entries'), ...errors(...authErrors) },
        },
      },
      '/api/v1/audit/verify': {
        get: {
          operationId: 'verifyAudit',
          description:
            'auditor or admin: the hash chain, the signed checkpoints, and the live head against the latest one',
          security: AUTH,
          responses: {
            '200': json(AuditVerifyResponseSchema, 'the verdict (ok false names the first bad seq)'),
            ...errors(...authErrors),
          },
        },
      },
      // ---- end access-key management and audit ----
      ...governancePaths(),
      '/api/v1/openapi.json': {
        get: { operationId: 'openapi', responses: { '200': { description: 'this document' } } },
      },
      '/health': {
        get: { operationId: 'health', responses: { '200': { description: 'the process is alive' } } },
      },
      '/ready': {
        get: {
          operationId: 'ready',
          responses: {
            '200': json(ReadyResponseSchema, 'a quorum of nodes is reachable and unsealed'),
            '503': json(ReadyResponseSchema, 'no quorum'),
          },
        },
      },
      '/metrics': {
        get: { operationId: 'metrics', responses: { '200': { description: 'Prometheus text format' } } },
      },
    },
  };
}

/** Risk-control policies and four-eyes approvals (docs/policies-and-approvals.md). */
function governancePaths(): Record<string, unknown> {
  const policyIdParam = { name: 'policy_id', in: 'path', required: true, schema: schemaOf(PolicyIdSchema, 'input') };
  const approvalIdParam = {
    name: 'approval_id',
    in: 'path',
    required: true,
    schema: schemaOf(ApprovalIdSchema, 'input'),
  };
  const reason = queryParams(ReasonQuerySchema);
  const waits = json(ApprovalSchema, 'a POLICY_CHANGE rule requires approval: the change waits for it');
  return {
    '/api/v1/policies': {
      post: {
        operationId: 'createPolicy',
        security: AUTH,
        parameters: reason,
        requestBody: body(PolicyDocumentSchema),
        responses: { '201': json(PolicySchema, 'the policy'), '202': waits, ...errors(...authErrors, '409') },
      },
      get: {
        operationId: 'listPolicies',
        security: AUTH,
        responses: {
          '200': json(z.object({ policies: z.array(PolicySchema) }), 'every policy'),
          ...errors(...authErrors),
        },
      },
    },
    '/api/v1/policies/{policy_id}': {
      get: {
        operationId: 'getPolicy',
        security: AUTH,
        parameters: [policyIdParam],
        responses: { '200': json(PolicySchema, 'the policy'), ...errors(...authErrors, '404') },
      },
      put: {
        operationId: 'updatePolicy',
        security: AUTH,
        parameters: [policyIdParam, ...reason],
        requestBody: body(PolicyDocumentSchema),
        responses: {
          '200': json(PolicySchema, 'the policy, version + 1'),
          '202': waits,
          ...errors(...authErrors, '404', '409'),
        },
      },
      delete: {
        operationId: 'deletePolicy',
        security: AUTH,
        parameters: [policyIdParam, ...reason],
        responses: { '204': { description: 'deleted' }, '202': waits, ...errors(...authErrors, '404', '409') },
      },
    },
    '/api/v1/approvals': {
      get: {
        operationId: 'listApprovals',
        security: AUTH,
        parameters: queryParams(ListApprovalsQuerySchema),
        responses: { '200': json(ListApprovalsResponseSchema, 'a page, newest first'), ...errors(...authErrors) },
      },
    },
    '/api/v1/approvals/{approval_id}': {
      get: {
        operationId: 'getApproval',
        security: AUTH,
        parameters: [approvalIdParam],
        responses: {
          '200': json(ApprovalSchema, 'the request; once EXECUTED its result (e.g. the signature)'),
          ...errors(...authErrors, '404'),
        },
      },
    },
    '/api/v1/approvals/{approval_id}/approve': {
      post: {
        operationId: 'approve',
        security: AUTH,
        description: 'approver or admin, never the requester (403); the last approval needed runs the operation once',
        parameters: [approvalIdParam],
        requestBody: { ...body(ApprovalDecisionRequestSchema), required: false },
        responses: {
          '200': json(ApprovalSchema, 'the request after the decision (EXECUTED or FAILED once it ran)'),
          ...errors(...authErrors, '404', '409'),
        },
      },
    },
    '/api/v1/approvals/{approval_id}/reject': {
      post: {
        operationId: 'reject',
        security: AUTH,
        parameters: [approvalIdParam],
        requestBody: body(RejectRequestSchema),
        responses: {
          '200': json(ApprovalSchema, 'the request, REJECTED'),
          ...errors(...authErrors, '404', '409'),
        },
      },
    },
  };
}
