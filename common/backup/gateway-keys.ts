/**
 * The gateway's own key files in a backup set (before age encryption): the master key that
 * encrypts access-key secrets in the database, and the audit checkpoint signing key. Without them
 * a restored database's access keys and checkpoints are unusable. Present only for keys the
 * gateway keeps in files; keys given through the environment live in their own Secret.
 */
import { z } from 'zod';
import { BackupError } from './errors.ts';

const Key = z.string().regex(/^[A-Za-z0-9+/]{43}=$/);
const GatewayKeysSchema = z.strictObject({
  format: z.literal(1),
  master_key: Key.optional(),
  audit_key: Key.optional(),
});

export interface GatewayKeys {
  readonly masterKey?: Uint8Array;
  readonly auditKey?: Uint8Array;
}

export function encodeGatewayKeys(k: GatewayKeys): Buffer {
  const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');
  return Buffer.from(
    JSON.stringify({
      format: 1,
      ...(k.masterKey && { master_key: b64(k.masterKey) }),
      ...(k.auditKey && { audit_key: b64(k.auditKey) }),
    }),
  );
}

export function decodeGatewayKeys(bytes: Uint8Array): GatewayKeys {
  const parsed = GatewayKeysSchema.safeParse(safeJson(bytes));
  if (!parsed.success) throw new BackupError('MALFORMED', 'the gateway keys file does not decode');
  const raw = (s: string | undefined) => (s === undefined ? undefined : new Uint8Array(Buffer.from(s, 'base64')));
  const masterKey = raw(parsed.data.master_key);
  const auditKey = raw(parsed.data.audit_key);
  return { ...(masterKey && { masterKey }), ...(auditKey && { auditKey }) };
}

function safeJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return undefined;
  }
}
