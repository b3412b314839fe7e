/** TSS node configuration from the environment, validated with zod. */
import { z } from 'zod';
import { DEFAULT_CUSTOS_HOME } from '../common/pki/dev-pki.ts';
import { NODE_ID_PATTERN } from '../common/pki/identity.ts';

const EnvSchema = z.object({
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
});

export interface NodeConfig {
  readonly nodeId: string;
  readonly home: string;
  readonly listen: string;
  readonly passwordFile?: string;
  readonly tlsDir?: string;
  readonly tlsReloadMs: number;
  readonly kekSocket?: string;
  readonly kekWaitMs: number;
  readonly devMode: boolean;
  readonly logLevel: string;
  readonly gg18PoolSize: number;
}

export function loadNodeConfig(env: NodeJS.ProcessEnv): NodeConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new Error(
      `invalid node configuration: ${parsed.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`).join('; ')}`,
    );
  }
  const e = parsed.data;
  return {
    nodeId: e.CUSTOS_NODE_ID,
    home: e.CUSTOS_HOME,
    listen: e.CUSTOS_LISTEN,
    passwordFile: e.CUSTOS_UNSEAL_PASSWORD_FILE,
    tlsDir: e.CUSTOS_TLS_DIR,
    tlsReloadMs: Math.round(e.CUSTOS_TLS_RELOAD_SECONDS * 1000),
    kekSocket: e.CUSTOS_KEK_SOCKET,
    kekWaitMs: e.CUSTOS_KEK_WAIT_SECONDS * 1000,
    devMode: e.CUSTOS_DEV_MODE === '1' || e.CUSTOS_DEV_MODE === 'true',
    logLevel: e.CUSTOS_LOG_LEVEL,
    gg18PoolSize: e.CUSTOS_GG18_POOL_SIZE,
  };
}
