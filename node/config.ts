/** TSS node configuration from the environment, validated with zod. */
import { NodeEnvSchema } from '../common/config/env.ts';

const EnvSchema = NodeEnvSchema;

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
