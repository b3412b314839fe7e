/** The PKCS#11 sidecar's configuration from the environment (common/config/env.ts, shared with operator/builders/node.ts). */
import { KekSidecarEnvSchema } from '../../common/config/env.ts';

const EnvSchema = KekSidecarEnvSchema;

export interface SidecarConfig {
  readonly nodeId: string;
  readonly module: string;
  readonly tokenLabel: string;
  readonly keyLabel: string;
  readonly pinFile: string;
  readonly socket: string;
  readonly logLevel: string;
}

export function loadSidecarConfig(env: NodeJS.ProcessEnv): SidecarConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`).join('; ');
    throw new Error(`invalid sidecar configuration: ${issues}`);
  }
  const e = parsed.data;
  return {
    nodeId: e.CUSTOS_NODE_ID,
    module: e.CUSTOS_PKCS11_MODULE,
    tokenLabel: e.CUSTOS_PKCS11_TOKEN_LABEL,
    keyLabel: e.CUSTOS_PKCS11_KEY_LABEL,
    pinFile: e.CUSTOS_PKCS11_PIN_FILE,
    socket: e.CUSTOS_KEK_SOCKET,
    logLevel: e.CUSTOS_LOG_LEVEL,
  };
}
