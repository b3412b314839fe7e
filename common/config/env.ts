/**
 * The environment contract of each deployable, one zod schema each: the node and the gateway load
 * their configuration through these, and the operator's builders emit pod env through them
 * (operator/builders/env.ts), so a variable the operator sets is one the process reads, with a
 * value it accepts.
 */
import { z } from 'zod';
import { DEFAULT_CUSTOS_HOME } from '../pki/dev-pki.ts';
import { NODE_ID_PATTERN } from '../pki/identity.ts';

export const NodeEnvSchema = z.object({
  CUSTOS_NODE_ID: z.string().regex(NODE_ID_PATTERN, 'CUSTOS_NODE_ID must be a node id such as tss1'),
  CUSTOS_HOME: z.string().min(1).default(DEFAULT_CUSTOS_HOME),
  CUSTOS_LISTEN: z
    .string()
    .regex(/^[^\s]+:\d{1,5}$/, 'CUSTOS_LISTEN is host:port')
    .default('127.0.0.1:9000'),
  CUSTOS_UNSEAL_PASSWORD_FILE: z.string().min(1).optional(),
  /** A mounted cert-manager Secret (ca.crt, tls.crt, tls.key); without it, certs/ under CUSTOS_HOME. */
  CUSTOS_TLS_DIR: z.string().min(1).optional(),
  /** How often the TLS files are checked for a renewed certificate. */
  CUSTOS_TLS_RELOAD_SECONDS: z.coerce.number().min(0.1).max(3600).default(5),
  /** The PKCS#11 sidecar's socket; when set, the node unseals with the HSM KEK instead of a password. */
  CUSTOS_KEK_SOCKET: z.string().min(1).optional(),
  /** How long to wait for the sidecar to answer before giving up sealed. */
  CUSTOS_KEK_WAIT_SECONDS: z.coerce.number().int().min(0).max(3600).default(120),
  CUSTOS_DEV_MODE: z.enum(['0', '1', 'true', 'false']).default('0'),
  CUSTOS_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  /** GG18 pre-params kept ready; 0 generates only on demand (slow keygen, no background CPU). */
  CUSTOS_GG18_POOL_SIZE: z.coerce.number().int().min(0).max(64).default(2),
  /** Sign sessions per key that may abort without a proven culprit before the node refuses the key. */
  CUSTOS_UNATTRIBUTED_ABORT_LIMIT: z.coerce.number().int().min(1).max(1_000_000).default(20),
});
export type NodeEnv = z.input<typeof NodeEnvSchema>;

/** The PKCS#11 KEK sidecar next to a node (node/kek-sidecar). */
export const KekSidecarEnvSchema = z.object({
  CUSTOS_NODE_ID: z.string().regex(NODE_ID_PATTERN, 'CUSTOS_NODE_ID must be a node id such as tss1'),
  CUSTOS_PKCS11_MODULE: z.string().min(1),
  CUSTOS_PKCS11_TOKEN_LABEL: z.string().min(1).max(32),
  CUSTOS_PKCS11_KEY_LABEL: z.string().min(1),
  CUSTOS_PKCS11_PIN_FILE: z.string().min(1),
  CUSTOS_KEK_SOCKET: z.string().min(1),
  CUSTOS_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
});

/**
 * The gateway's environment. Values are strings as the environment holds them; gateway/config.ts
 * maps them onto its configuration schema, which validates them in depth. The `_USER`/`_PASSWORD`
 * variables exist only to be substituted into the URLs ($(VAR) in a pod spec).
 */
export const GatewayEnvSchema = z
  .object({
    CUSTOS_HOME: z.string().min(1),
    CUSTOS_GATEWAY_HOST: z.string().min(1),
    CUSTOS_GATEWAY_PORT: z.string().regex(/^\d{1,5}$/),
    CUSTOS_GATEWAY_TLS: z.enum(['0', '1', 'true', 'false']),
    CUSTOS_NODES: z
      .string()
      .regex(
        /^\s*[a-z][a-z0-9-]*=[^,=\s]+:\d{1,5}\s*(,\s*[a-z][a-z0-9-]*=[^,=\s]+:\d{1,5}\s*)*$/,
        'CUSTOS_NODES is id=host:port,...',
      ),
    CUSTOS_DATABASE_URL: z.string().regex(/^(sqlite:|mysql:\/\/)/, 'database.url starts with sqlite: or mysql://'),
    CUSTOS_DB_USER: z.string().min(1),
    CUSTOS_DB_PASSWORD: z.string().min(1),
    CUSTOS_REDIS_URL: z.string().regex(/^rediss?:\/\//),
    CUSTOS_REDIS_PASSWORD: z.string().min(1),
    CUSTOS_BODY_LIMIT_BYTES: z.string().regex(/^\d+$/),
    CUSTOS_RATE_LIMIT_BURST: z.string().regex(/^\d+$/),
    CUSTOS_RATE_LIMIT_PER_SECOND: z.string().regex(/^[0-9.]+$/),
    CUSTOS_ALGORITHMS: z.string().regex(/^[A-Z0-9]+(, ?[A-Z0-9]+)*$/, 'algorithms: a comma-separated list'),
    CUSTOS_BOOTSTRAP_CREDENTIALS_FILE: z.string().min(1),
    CUSTOS_GATEWAY_MASTER_KEY: z.string().regex(/^[0-9a-fA-F]{64}$/, 'master key: 64 hex digits'),
    CUSTOS_GATEWAY_AUDIT_KEY: z.string().regex(/^[0-9a-fA-F]{64}$/, 'audit key: 64 hex digits'),
    CUSTOS_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    CUSTOS_TLS_RELOAD_SECONDS: z.string().regex(/^[0-9.]+$/),
    CUSTOS_GATEWAY_DRAIN_SECONDS: z.string().regex(/^[0-9.]+$/),
    CUSTOS_GATEWAY_CONFIG: z.string().min(1),
    /** Comma-separated proxy addresses/CIDRs whose X-Forwarded-For is believed; unset: none is. */
    CUSTOS_TRUSTED_PROXIES: z
      .string()
      .regex(/^[0-9A-Fa-f:./]+(\s*,\s*[0-9A-Fa-f:./]+)*$/, 'CUSTOS_TRUSTED_PROXIES is a comma-separated list of CIDRs'),
    /** The admin console's listener (gateway/console); it defaults to the API's host and port 8880. */
    CUSTOS_CONSOLE_ENABLED: z.enum(['0', '1', 'true', 'false']),
    CUSTOS_CONSOLE_HOST: z.string().min(1),
    CUSTOS_CONSOLE_PORT: z.string().regex(/^\d{1,5}$/),
    CUSTOS_CONSOLE_BOOTSTRAP_FILE: z.string().min(1),
    CUSTOS_BACKUP_TARGETS_FILE: z.string().min(1),
    CUSTOS_BACKUP_RECIPIENTS: z.string().regex(/^age1[0-9a-z]+(, ?age1[0-9a-z]+)*$/, 'age recipients, comma-separated'),
    CUSTOS_BACKUP_RETENTION_DAYS: z.string().regex(/^\d+$/),
  })
  .partial()
  .strict();
export type GatewayEnv = z.input<typeof GatewayEnvSchema>;
