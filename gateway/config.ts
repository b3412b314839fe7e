/**
 * The gateway's configuration: defaults, then an optional JSON file (CUSTOS_GATEWAY_CONFIG), then
 * environment variables, validated by one zod schema.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { SERVED_ALGORITHMS, ServedAlgorithmSchema } from '../common/api/schemas.ts';
import { GatewayEnvSchema } from '../common/config/env.ts';
import { RolesSchema } from './auth/roles.ts';

const NodeSchema = z.object({ id: z.string().min(1), address: z.string().min(1) }).strict();

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
    /** Algorithms the cluster serves (a subset of what this build implements); others answer 422. */
    algorithms: z
      .array(ServedAlgorithmSchema)
      .min(1)
      .default([...SERVED_ALGORITHMS]),
    audit: z
      .object({ checkpoint_every: z.number().int().min(1).default(100) })
      .strict()
      .default({ checkpoint_every: 100 }),
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
    /**
     * On SIGTERM, how long /ready answers 503 while requests are still served, before the server
     * stops accepting (in-flight requests then finish): time for the Service endpoints to drop the pod.
     */
    drain_seconds: z.number().min(0).max(300).default(0),
    log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
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
  if (env.CUSTOS_TLS_RELOAD_SECONDS) out.tls_reload_seconds = Number(env.CUSTOS_TLS_RELOAD_SECONDS);
  if (env.CUSTOS_GATEWAY_DRAIN_SECONDS) out.drain_seconds = Number(env.CUSTOS_GATEWAY_DRAIN_SECONDS);
  return out;
}

/** Loads the config: JSON file (if CUSTOS_GATEWAY_CONFIG names one), overridden by env. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const file = env.CUSTOS_GATEWAY_CONFIG
    ? (JSON.parse(readFileSync(env.CUSTOS_GATEWAY_CONFIG, 'utf8')) as Record<string, unknown>)
    : {};
  const parsed = GatewayConfigSchema.safeParse({ ...file, ...fromEnv(env) });
  if (!parsed.success) throw new Error(`invalid gateway config: ${z.prettifyError(parsed.error)}`);
  return { ...parsed.data, home: resolve(parsed.data.home) };
}

/** Where the gateway keeps its own files under CUSTOS_HOME. */
export function gatewayDir(config: Pick<GatewayConfig, 'home'>): string {
  return join(config.home, 'gateway');
}
