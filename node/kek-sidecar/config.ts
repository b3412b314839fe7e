/** The PKCS#11 sidecar's configuration from the environment (names as operator/builders/node.ts emits them). */
import { z } from 'zod';
import { NODE_ID_PATTERN } from '../../common/pki/identity.ts';

const EnvSchema = z.object({
  CUSTOS_NODE_ID: z.string().regex(NODE_ID_PATTERN, 'CUSTOS_NODE_ID must be a node id such as tss1'),
  CUSTOS_PKCS11_MODULE: z.string().min(1),
  CUSTOS_PKCS11_TOKEN_LABEL: z.string().min(1).max(32),
  CUSTOS_PKCS11_KEY_LABEL: z.string().min(1),
  CUSTOS_PKCS11_PIN_FILE: z.string().min(1),
  CUSTOS_KEK_SOCKET: z.string().min(1),
  CUSTOS_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
});

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
