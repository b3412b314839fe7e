/**
 * Asymmetric client access keys and the statements they sign for the TSS nodes (docs/security.md,
 * "Client authorisation"). The gateway forwards these statements; every holder node checks them
 * itself, so a gateway that is not trusted cannot make the nodes sign what no client asked for.
 *
 * A key's sign policy (which client keys may sign with it) is fixed at keygen — its hash is bound
 * into every DKG transcript, so holders that were given different policies cannot finish the DKG —
 * and changes only through a policy change signed by `change_quorum` currently authorised keys.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';

export const CLIENT_KEY_ALGORITHMS = ['ED25519', 'P256'] as const;
export type ClientKeyAlgorithm = (typeof CLIENT_KEY_ALGORITHMS)[number];

/** How far a client authorisation's timestamp may be from a node's clock. */
export const AUTHORIZATION_WINDOW_MS = 300_000;

const hex = (bytes: number) =>
  z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `${bytes} bytes of lowercase hex`);
const AccessKeyIdSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/);
const NonceSchema = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/);

/** A client public key: Ed25519 (32 bytes) or P-256 (33-byte compressed SEC1), lowercase hex. */
export const ClientPublicKeySchema = z
  .object({
    access_key: AccessKeyIdSchema,
    algorithm: z.enum(CLIENT_KEY_ALGORITHMS),
    public_key: z.string().regex(/^[0-9a-f]{64,66}$/),
  })
  .strict()
  .refine(
    (k) => k.public_key.length === (k.algorithm === 'ED25519' ? 64 : 66),
    'public key length does not fit the algorithm',
  )
  .refine((k) => {
    try {
      publicKeyObject(k);
      return true;
    } catch {
      return false;
    }
  }, 'not a valid public key');
export type ClientPublicKey = z.infer<typeof ClientPublicKeySchema>;

/**
 * Who may sign with a key. No signers means the key trusts the gateway (HMAC access keys);
 * `version` increases by one with every accepted change.
 */
export const SignPolicySchema = z
  .object({
    version: z.number().int().min(1).max(0xffff_ffff),
    signers: z.array(ClientPublicKeySchema).max(64),
    change_quorum: z.number().int().min(1).max(64),
  })
  .strict()
  .refine((p) => new Set(p.signers.map((s) => s.access_key)).size === p.signers.length, 'signers must be distinct')
  .refine((p) => p.signers.length === 0 || p.change_quorum <= p.signers.length, 'change_quorum exceeds the signers');
export type SignPolicy = z.infer<typeof SignPolicySchema>;

export const GATEWAY_TRUSTED_POLICY: SignPolicy = { version: 1, signers: [], change_quorum: 1 };

/** A client's signed consent to one signature with one key. `nonce` is the client's request id. */
export const SignAuthorizationSchema = z
  .object({
    access_key: AccessKeyIdSchema,
    key_id: z.string().regex(/^key_[0-9a-f]{32}$/),
    data_type: z.string().regex(/^[A-Z0-9]{1,16}$/),
    message_sha256: hex(32),
    timestamp_ms: z.number().int().min(0),
    nonce: NonceSchema,
    signature: z.string().regex(/^[0-9a-f]{128}$/, '64-byte signature in lowercase hex'),
  })
  .strict();
export type SignAuthorization = z.infer<typeof SignAuthorizationSchema>;

/** Approval of one policy change by one currently authorised client key. */
export const PolicyApprovalSchema = z
  .object({ access_key: AccessKeyIdSchema, signature: z.string().regex(/^[0-9a-f]{128}$/) })
  .strict();
export const PolicyChangeSchema = z
  .object({
    key_id: z.string().regex(/^key_[0-9a-f]{32}$/),
    policy: SignPolicySchema,
    approvals: z.array(PolicyApprovalSchema).min(1).max(64),
  })
  .strict();
export type PolicyChange = z.infer<typeof PolicyChangeSchema>;

/** Canonical bytes of a policy: fixed field order, signers sorted by access key. */
export function canonicalPolicy(p: SignPolicy): string {
  const signers = [...p.signers]
    .sort((a, b) => (a.access_key < b.access_key ? -1 : a.access_key > b.access_key ? 1 : 0))
    .map((s) => ({ access_key: s.access_key, algorithm: s.algorithm, public_key: s.public_key }));
  return JSON.stringify({ version: p.version, signers, change_quorum: p.change_quorum });
}

export function policyHash(p: SignPolicy): string {
  return createHash('sha256')
    .update(`custos-sign-policy-v1\n${canonicalPolicy(p)}`)
    .digest('hex');
}

/** What a client signs to authorise one signature. Every field is free of newlines by its schema. */
export function authorizationStatement(a: Omit<SignAuthorization, 'signature'>): Buffer {
  return Buffer.from(
    [
      'custos-sign-authorization-v1',
      a.access_key,
      a.key_id,
      a.data_type,
      a.message_sha256,
      String(a.timestamp_ms),
      a.nonce,
    ].join('\n'),
  );
}

/** What each approver signs to move `keyId` from policy version `policy.version - 1` to `policy`. */
export function policyChangeStatement(keyId: string, policy: SignPolicy): Buffer {
  return Buffer.from(['custos-sign-policy-change-v1', keyId, String(policy.version), policyHash(policy)].join('\n'));
}

/** The session id a keygen's transcripts use: a sign policy, when there is one, is bound into every proof. */
export function keygenTranscriptId(sessionId: string, policy: SignPolicy | undefined): string {
  return policy ? `${sessionId}|policy=${policyHash(policy)}` : sessionId;
}

export function messageSha256(message: Uint8Array): string {
  return createHash('sha256').update(message).digest('hex');
}

export function publicKeyObject(k: Pick<ClientPublicKey, 'algorithm' | 'public_key'>): KeyObject {
  const raw = Buffer.from(k.public_key, 'hex');
  if (k.algorithm === 'ED25519') {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  }
  // SPKI for a compressed P-256 point: the fixed prefix of id-ecPublicKey/prime256v1 then the point.
  const prefix = Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex');
  return createPublicKey({ key: Buffer.concat([prefix, raw]), format: 'der', type: 'spki' });
}

/** Signs `statement` with a client private key: Ed25519, or ECDSA P-256/SHA-256 as r‖s. */
export function signStatement(privateKey: KeyObject, statement: Uint8Array): string {
  const algorithm = privateKey.asymmetricKeyType === 'ed25519' ? null : 'sha256';
  return sign(algorithm, statement, { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('hex');
}

export function verifyStatement(
  key: Pick<ClientPublicKey, 'algorithm' | 'public_key'>,
  statement: Uint8Array,
  signatureHex: string,
): boolean {
  if (!/^[0-9a-f]{128}$/.test(signatureHex)) return false;
  const algorithm = key.algorithm === 'ED25519' ? null : 'sha256';
  try {
    return verify(
      algorithm,
      statement,
      { key: publicKeyObject(key), dsaEncoding: 'ieee-p1363' },
      Buffer.from(signatureHex, 'hex'),
    );
  } catch {
    return false;
  }
}

/** A fresh client key pair: the private key as PKCS#8 PEM, the public key as the policy stores it. */
export function generateClientKeyPair(algorithm: ClientKeyAlgorithm): { privateKeyPem: string; publicKey: string } {
  const pair =
    algorithm === 'ED25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    privateKeyPem: pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKey: publicKeyHex(pair.publicKey),
  };
}

/** The policy encoding of a public key (raw Ed25519, compressed P-256). */
export function publicKeyHex(key: KeyObject): string {
  if (key.asymmetricKeyType === 'ed25519') {
    return Buffer.from(key.export({ format: 'jwk' }).x!, 'base64url').toString('hex');
  }
  const jwk = key.export({ format: 'jwk' });
  if (key.asymmetricKeyType !== 'ec' || jwk.crv !== 'P-256') throw new Error('client keys are Ed25519 or ECDSA P-256');
  const x = Buffer.from(jwk.x!, 'base64url');
  const yOdd = Buffer.from(jwk.y!, 'base64url')[31]! & 1;
  return Buffer.concat([Buffer.from([yOdd ? 3 : 2]), x]).toString('hex');
}

export function algorithmOfPrivateKey(privateKeyPem: string): ClientKeyAlgorithm {
  const key = createPrivateKey(privateKeyPem);
  if (key.asymmetricKeyType === 'ed25519') return 'ED25519';
  if (key.asymmetricKeyType === 'ec' && key.export({ format: 'jwk' }).crv === 'P-256') return 'P256';
  throw new Error('client private keys are Ed25519 or ECDSA P-256');
}
