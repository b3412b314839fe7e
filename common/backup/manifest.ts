/**
 * A backup set's manifest: which files the set holds, with the SHA-256 and size of each stored
 * (age-encrypted) object and of its plaintext, signed by the cluster's gateway certificate key.
 * The signature covers the manifest's exact bytes, so nothing needs canonicalising; the verifier
 * checks the certificate against the cluster CA and that it names the gateway of the cluster the
 * manifest claims (and the one the caller expects), so a set from another cluster is refused.
 */
import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import {
  identityOfCertificate,
  NODE_ID_PATTERN,
  sameCluster,
  verifyIssuedBy,
  type ClusterScope,
} from '../pki/identity.ts';
import { BackupError } from './errors.ts';

const SIGNATURE_CONTEXT = 'custos-backup-manifest-v1\n';
const Hex64 = z.string().regex(/^[0-9a-f]{64}$/);
export const SET_ID_PATTERN = /^\d{8}T\d{6}Z-[0-9a-f]{8}$/;

export const BackupFileSchema = z.strictObject({
  name: z.string().regex(/^(nodes\/[a-z][a-z0-9-]{0,62}|gateway\/database|gateway\/keys)\.age$/),
  kind: z.enum(['node', 'gateway-database', 'gateway-keys']),
  node_id: z.string().regex(NODE_ID_PATTERN).optional(),
  sha256: Hex64,
  size: z.number().int().nonnegative(),
  plaintext_sha256: Hex64,
  plaintext_size: z.number().int().nonnegative(),
});
export type BackupFile = z.infer<typeof BackupFileSchema>;

export const BackupManifestSchema = z.strictObject({
  format: z.literal(1),
  set_id: z.string().regex(SET_ID_PATTERN),
  created_at: z.iso.datetime(),
  cluster: z.strictObject({ namespace: z.string().min(1), cluster: z.string().min(1) }),
  database: z.enum(['sqlite']),
  /** age recipients (public) the files are encrypted to. */
  recipients: z.array(z.string().regex(/^age1[0-9a-z]+$/)).min(1),
  /** PEM of the gateway certificate whose key signed the manifest. */
  gateway_certificate: z.string().min(1),
  files: z.array(BackupFileSchema).min(1),
});
export type BackupManifest = z.infer<typeof BackupManifestSchema>;

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function signedMessage(manifestBytes: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(SIGNATURE_CONTEXT), manifestBytes]);
}

/** The manifest's bytes and their signature by the gateway's certificate key. */
export function signManifest(manifest: BackupManifest, key: KeyObject): { bytes: Buffer; signature: Buffer } {
  const bytes = Buffer.from(JSON.stringify(BackupManifestSchema.parse(manifest), null, 2));
  return { bytes, signature: sign('sha256', signedMessage(bytes), key) };
}

/**
 * Checks the signature and the signer, then parses. `expected` is the cluster the caller restores
 * into (from its own certificate); without it only the CA and the manifest's own claim are checked.
 */
export function verifyManifest(
  bytes: Uint8Array,
  signature: Uint8Array,
  caPem: string | Uint8Array,
  expected?: ClusterScope,
): BackupManifest {
  let parsed: BackupManifest;
  try {
    parsed = BackupManifestSchema.parse(JSON.parse(Buffer.from(bytes).toString('utf8')));
  } catch {
    throw new BackupError('MALFORMED', 'the manifest is not a valid backup manifest (truncated or altered)');
  }
  const cert = parsed.gateway_certificate;
  if (!verifyIssuedBy(cert, caPem)) {
    throw new BackupError('WRONG_CLUSTER', 'the manifest was not signed by a certificate of this cluster CA');
  }
  const identity = identityOfCertificate(cert);
  if (identity.kind !== 'gateway' || !sameCluster(identity, parsed.cluster)) {
    throw new BackupError('BAD_SIGNATURE', 'the manifest signer is not the gateway of the cluster it names');
  }
  let valid = false;
  try {
    valid = verify('sha256', signedMessage(bytes), cert, signature);
  } catch {
    valid = false;
  }
  if (!valid) throw new BackupError('BAD_SIGNATURE', 'the manifest signature does not verify (altered manifest)');
  if (expected && !sameCluster(expected, parsed.cluster)) {
    throw new BackupError(
      'WRONG_CLUSTER',
      `the backup belongs to cluster ${parsed.cluster.namespace}/${parsed.cluster.cluster}, not ${expected.namespace}/${expected.cluster}`,
    );
  }
  return parsed;
}

/** Checks a stored object against its manifest entry (size, then SHA-256); pure. */
export function checkStoredFile(file: BackupFile, bytes: Uint8Array): void {
  if (bytes.length !== file.size) {
    throw new BackupError(
      'TRUNCATED',
      `${file.name} is ${bytes.length} bytes, the manifest says ${file.size} (truncated or replaced)`,
    );
  }
  if (sha256Hex(bytes) !== file.sha256) throw new BackupError('TAMPERED', `${file.name} does not match its SHA-256`);
}

/** Checks a decrypted file against its manifest entry; pure. */
export function checkPlaintext(file: BackupFile, bytes: Uint8Array): void {
  if (bytes.length !== file.plaintext_size || sha256Hex(bytes) !== file.plaintext_sha256) {
    throw new BackupError('TAMPERED', `${file.name} decrypts to content that does not match the manifest`);
  }
}
