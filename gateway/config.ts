/**
 * The gateway's configuration: defaults, then an optional JSON file (CUSTOS_GATEWAY_CONFIG), then
 * environment variables, validated by one zod schema.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { CidrSchema, SERVED_ALGORITHMS, ServedAlgorithmSchema } from '../common/api/schemas.ts';
import { GatewayEnvSchema } from '../common/config/env.ts';
import { RolesSchema } from './auth/roles.ts';

const NodeSchema = z.object({ id: z.string().min(1), address: z.string().min(1) }).strict();
/** Sessions of one algorithm running at once, and requests waiting beyond those. */
const admissionLimits = z.object({ concurrency: z.number().int().min(1), queue: z.number().int().min(0) }).strict();

export const GatewayConfigSchema = z
  .object({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8080),
    home: z.string().default('./.custos'),
    nodes: z.array(NodeSchema).default([
      { id: 'tss1', address: '127.0.0.1:9001' },
      { id: 'tss2', address: '127.0.0.1:9002' },
      { id: 'tss3', address: '127.0.0.1:9003' },
      { id: 'tss4', address: '127.0.0.1:9004' },
    ]),
    database: z
      .object({
        /** `sqlite:<path>` (default: $home/gateway/custos.db) or `mysql://user:pass@host:port/db`. */
        url: z
          .string()
          .regex(/^(sqlite:|mysql:\/\/)/, 'database.url starts with sqlite: or mysql://')
          .optional(),
      })
      .strict()
      .default({}),
    redis: z
      .object({ url: z.string().regex(/^rediss?:\/\//) })
      .strict()
      .optional(),
    body_limit_bytes: z
      .number()
      .int()
      .min(1024)
      .default(256 * 1024),
    rate_limit: z
      .object({
        /** Bucket size: requests an access key may burst. */
        burst: z.number().int().min(1).default(1000),
        /** Sustained requests per second per access key. */
        per_second: z.number().positive().default(500),
      })
      .strict()
      .default({ burst: 1000, per_second: 500 }),
    /**
     * Admission control per algorithm (gateway/admission/): sessions running at once and requests
     * waiting; beyond both a request is refused with 429 and Retry-After before any node works.
     * GG18 sessions cost each signer about a CPU-second, so few run at once.
     */
    admission: z
      .object({
        GG18: admissionLimits.default({ concurrency: 2, queue: 32 }),
        EDDSA: admissionLimits.default({ concurrency: 64, queue: 4096 }),
        BLS: admissionLimits.default({ concurrency: 32, queue: 2048 }),
      })
      .strict()
      .prefault({}),
    /** Algorithms the cluster serves (a subset of what this build implements); others answer 422. */
    algorithms: z
      .array(ServedAlgorithmSchema)
      .min(1)
      .default([...SERVED_ALGORITHMS]),
    audit: z
      .object({
        checkpoint_every: z.number().int().min(1).default(100),
        /** A head that grew is signed at least this often; verify flags entries unsealed for twice as long. */
        checkpoint_interval_seconds: z.number().int().min(1).max(86_400).default(60),
      })
      .strict()
      .default({ checkpoint_every: 100, checkpoint_interval_seconds: 60 }),
    /** Deadline of one MPC session as seen by the HTTP request. */
    /** GG18 keygen on nodes whose pre-params pool is empty waits for safe primes: minutes, not seconds. */
    mpc_timeout_ms: z.number().int().min(100).default(180_000),
    /** `{"access_key","secret_key"}` upserted into access_keys at start. */
    bootstrap_credentials_file: z.string().optional(),
    /** 64 hex chars; dev only. Otherwise $home/gateway/master.key is used (created on first start). */
    master_key_hex: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'master key: 64 hex digits')
      .optional(),
    /** 64 hex chars: the Ed25519 seed that signs audit checkpoints, shared by every replica. Otherwise $home/gateway/audit.key. */
    audit_key_hex: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'audit key: 64 hex digits')
      .optional(),
    /** Serve HTTPS with the gateway's certificate ($home/certs/gateway/gateway.cert|key). */
    tls: z.boolean().default(false),
    /** How often the TLS files under $home/certs are checked for a renewed certificate. */
    tls_reload_seconds: z.number().min(0.1).max(3600).default(5),
    /** The admin console (gateway/console): its own port, so the API and the console are exposed separately. */
    console: z
      .object({
        enabled: z.boolean().default(true),
        /** Defaults to the API's host. */
        host: z.string().optional(),
        port: z.number().int().min(0).max(65535).default(8880),
        /** `{"username","password","totp_secret","roles"}`: a console user created at start when absent. */
        bootstrap_user_file: z.string().optional(),
        /** Consecutive failed logins that lock a user, and for how long. */
        lockout_failures: z.number().int().min(1).max(100).default(5),
        lockout_seconds: z.number().int().min(1).default(900),
        session_idle_seconds: z.number().int().min(60).default(900),
        session_absolute_seconds: z
          .number()
          .int()
          .min(300)
          .default(8 * 3600),
      })
      .strict()
      .default({
        enabled: true,
        port: 8880,
        lockout_failures: 5,
        lockout_seconds: 900,
        session_idle_seconds: 900,
        session_absolute_seconds: 8 * 3600,
      }),
    /** Four-eyes approvals (docs/policies-and-approvals.md). */
    approvals: z
      .object({
        /** How long an approval request stays open. */
        expiry_seconds: z
          .number()
          .int()
          .min(60)
          .max(30 * 86400)
          .default(86400),
        /** Approvals every key destruction needs (besides the requester), whatever the policies say. */
        key_destruction_required: z.number().int().min(1).max(16).default(1),
        /** Approvals creating an access key with the admin role needs (gateway/approvals/admin-access-keys.ts). */
        admin_access_key_required: z.number().int().min(1).max(16).default(1),
      })
      .strict()
      .default({ expiry_seconds: 86400, key_destruction_required: 1, admin_access_key_required: 1 }),
    /**
     * On SIGTERM, how long /ready answers 503 while requests are still served, before the server
     * stops accepting (in-flight requests then finish): time for the Service endpoints to drop the pod.
     */
    drain_seconds: z.number().min(0).max(300).default(0),
    log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /**
     * Proxies (addresses or CIDRs) whose X-Forwarded-For is believed when the connection comes from
     * them; the client address is then the right-most untrusted hop. Empty: the socket address is
     * the client, whatever the header says.
     */
    trusted_proxies: z.array(CidrSchema).max(64).default([]),
    /** Backups (docs/operations.md "Backups"); absent: `POST /api/v1/backups` answers 503. */
    backup: z
      .object({
        /** JSON file with the primary and DR object stores and their credentials (common/backup/object-store.ts). */
        targets_file: z.string().min(1),
        /** age recipients (offline recovery keys) every set is encrypted to. */
        recipients: z.array(z.string().regex(/^age1[0-9a-z]+$/)).min(1),
        retention_days: z.number().int().min(1).default(30),
      })
      .strict()
      .optional(),
  })
  .strict();
export type GatewayConfig = z.infer<typeof GatewayConfigSchema>;

/**
 * CUSTOS_BOOTSTRAP_CREDENTIALS_FILE (comma-separated for several): access keys provisioned at start
 * (extra fields, e.g. base_url, ignored). Without roles a key is an admin, as credentials.json is.
 */
export const BootstrapCredentialsSchema = z.object({
  access_key: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/),
  secret_key: z.string().min(16),
  roles: RolesSchema.default(['admin']),
});

/** Parses `tss1=127.0.0.1:9001,tss2=...` from CUSTOS_NODES. */
function parseNodeList(text: string): { id: string; address: string }[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const eq = entry.indexOf('=');
      if (eq <= 0) throw new Error(`CUSTOS_NODES entry "${entry}" is not id=host:port`);
      return { id: entry.slice(0, eq), address: entry.slice(eq + 1) };
    });
}

/** Builds the raw config object from the environment; only variables that are set take part. */
function fromEnv(raw: NodeJS.ProcessEnv): Record<string, unknown> {
  // The environment contract (common/config/env.ts), shared with the operator's builders.
  const known = Object.keys(GatewayEnvSchema.shape).filter((k) => raw[k] !== undefined);
  const checked = GatewayEnvSchema.safeParse(Object.fromEntries(known.map((k) => [k, raw[k]])));
  if (!checked.success) throw new Error(`invalid gateway config: ${z.prettifyError(checked.error)}`);
  const env = checked.data;
  const out: Record<string, unknown> = {};
  const num = (v: string) => (/^\d+$/.test(v) ? Number(v) : v);
  if (env.CUSTOS_HOME) out.home = env.CUSTOS_HOME;
  if (env.CUSTOS_GATEWAY_HOST) out.host = env.CUSTOS_GATEWAY_HOST;
  if (env.CUSTOS_GATEWAY_PORT) out.port = num(env.CUSTOS_GATEWAY_PORT);
  if (env.CUSTOS_NODES) out.nodes = parseNodeList(env.CUSTOS_NODES);
  if (env.CUSTOS_DATABASE_URL) out.database = { url: env.CUSTOS_DATABASE_URL };
  if (env.CUSTOS_REDIS_URL) out.redis = { url: env.CUSTOS_REDIS_URL };
  if (env.CUSTOS_BODY_LIMIT_BYTES) out.body_limit_bytes = num(env.CUSTOS_BODY_LIMIT_BYTES);
  if (env.CUSTOS_RATE_LIMIT_BURST || env.CUSTOS_RATE_LIMIT_PER_SECOND) {
    out.rate_limit = {
      ...(env.CUSTOS_RATE_LIMIT_BURST ? { burst: Number(env.CUSTOS_RATE_LIMIT_BURST) } : {}),
      ...(env.CUSTOS_RATE_LIMIT_PER_SECOND ? { per_second: Number(env.CUSTOS_RATE_LIMIT_PER_SECOND) } : {}),
    };
  }
  if (env.CUSTOS_ALGORITHMS) out.algorithms = env.CUSTOS_ALGORITHMS.split(',').map((s) => s.trim());
  if (env.CUSTOS_BOOTSTRAP_CREDENTIALS_FILE) out.bootstrap_credentials_file = env.CUSTOS_BOOTSTRAP_CREDENTIALS_FILE;
  if (env.CUSTOS_GATEWAY_MASTER_KEY) out.master_key_hex = env.CUSTOS_GATEWAY_MASTER_KEY;
  if (env.CUSTOS_GATEWAY_AUDIT_KEY) out.audit_key_hex = env.CUSTOS_GATEWAY_AUDIT_KEY;
  if (env.CUSTOS_LOG_LEVEL) out.log_level = env.CUSTOS_LOG_LEVEL;
  if (env.CUSTOS_GATEWAY_TLS) out.tls = env.CUSTOS_GATEWAY_TLS === '1' || env.CUSTOS_GATEWAY_TLS === 'true';
  const consoleOut = {
    ...(env.CUSTOS_CONSOLE_ENABLED
      ? { enabled: env.CUSTOS_CONSOLE_ENABLED === '1' || env.CUSTOS_CONSOLE_ENABLED === 'true' }
      : {}),
    ...(env.CUSTOS_CONSOLE_HOST ? { host: env.CUSTOS_CONSOLE_HOST } : {}),
    ...(env.CUSTOS_CONSOLE_PORT ? { port: Number(env.CUSTOS_CONSOLE_PORT) } : {}),
    ...(env.CUSTOS_CONSOLE_BOOTSTRAP_FILE ? { bootstrap_user_file: env.CUSTOS_CONSOLE_BOOTSTRAP_FILE } : {}),
  };
  if (Object.keys(consoleOut).length > 0) out.console = consoleOut;
  if (env.CUSTOS_TLS_RELOAD_SECONDS) out.tls_reload_seconds = Number(env.CUSTOS_TLS_RELOAD_SECONDS);
  if (env.CUSTOS_TRUSTED_PROXIES) out.trusted_proxies = env.CUSTOS_TRUSTED_PROXIES.split(',').map((s) => s.trim());
  if (env.CUSTOS_BACKUP_TARGETS_FILE && env.CUSTOS_BACKUP_RECIPIENTS) {
    out.backup = {
      targets_file: env.CUSTOS_BACKUP_TARGETS_FILE,
      recipients: env.CUSTOS_BACKUP_RECIPIENTS.split(',').map((s) => s.trim()),
      ...(env.CUSTOS_BACKUP_RETENTION_DAYS ? { retention_days: Number(env.CUSTOS_BACKUP_RETENTION_DAYS) } : {}),
    };
  }
  if (env.CUSTOS_GATEWAY_DRAIN_SECONDS) out.drain_seconds = Number(env.CUSTOS_GATEWAY_DRAIN_SECONDS);
  return out;
}

/** Loads the config: JSON file (if CUSTOS_GATEWAY_CONFIG names one), overridden by env. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const file = env.CUSTOS_GATEWAY_CONFIG
    ? (JSON.parse(readFileSync(env.CUSTOS_GATEWAY_CONFIG, 'utf8')) as Record<string, unknown>)
    : {};
  const fromVars = fromEnv(env);
  // Console variables refine the file's console section instead of replacing it.
  const merged = {
    ...file,
    ...fromVars,
    ...(fromVars.console
      ? { console: { ...(file.console as object | undefined), ...(fromVars.console as object) } }
      : {}),
  };
  const parsed = GatewayConfigSchema.safeParse(merged);
  if (!parsed.success) throw new Error(`invalid gateway config: ${z.prettifyError(parsed.error)}`);
  return { ...parsed.data, home: resolve(parsed.data.home) };
}

/** Where the gateway keeps its own files under CUSTOS_HOME. */
export function gatewayDir(config: Pick<GatewayConfig, 'home'>): string {
  return join(config.home, 'gateway');
}
