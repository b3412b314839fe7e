import { SubjectAlternativeNameExtension, X509Certificate as PeculiarCertificate } from './x509.ts';
import { X509Certificate } from 'node:crypto';

/** Trust domain of every Custos workload identity (SPIFFE ids in the certificates' URI SAN). */
export const SPIFFE_TRUST_DOMAIN = 'custos.dev';
export const GATEWAY_ID = 'gateway';

/** Node ids name directories and files, so they are restricted to a safe, simple alphabet. */
export const NODE_ID_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;

export type CertificateIdentity = { kind: 'gateway'; id: typeof GATEWAY_ID } | { kind: 'node'; id: string };

export class CertificateIdentityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CertificateIdentityError';
  }
}

export function assertEntityId(id: string): void {
  if (!NODE_ID_PATTERN.test(id)) throw new CertificateIdentityError(`invalid node id ${JSON.stringify(id)}`);
}

/** The SPIFFE id a certificate for `id` carries: the gateway's, or a node's. */
export function spiffeIdOf(id: string): string {
  assertEntityId(id);
  return id === GATEWAY_ID ? `spiffe://${SPIFFE_TRUST_DOMAIN}/gateway` : `spiffe://${SPIFFE_TRUST_DOMAIN}/node/${id}`;
}

/** Parses a Custos SPIFFE id; throws on anything else. */
export function parseSpiffeId(uri: string): CertificateIdentity {
  const prefix = `spiffe://${SPIFFE_TRUST_DOMAIN}/`;
  if (!uri.startsWith(prefix)) throw new CertificateIdentityError(`not a Custos identity: ${uri}`);
  const path = uri.slice(prefix.length);
  if (path === 'gateway') return { kind: 'gateway', id: GATEWAY_ID };
  const match = /^node\/([^/]+)$/.exec(path);
  const id = match?.[1];
  if (id === undefined || id === GATEWAY_ID || !NODE_ID_PATTERN.test(id)) {
    throw new CertificateIdentityError(`malformed Custos identity: ${uri}`);
  }
  return { kind: 'node', id };
}

/**
 * Who a peer certificate belongs to, from its URI SAN. Exactly one URI in the Custos trust domain
 * is required, so a certificate can never speak for two parties. This does not check who issued
 * the certificate: the TLS layer (or verifyIssuedBy) must have verified the chain first.
 */
export function identityOfCertificate(pemOrDer: string | Uint8Array): CertificateIdentity {
  // Every session presents the same few certificates, and ASN.1 parsing is costly: remember them.
  const key = typeof pemOrDer === 'string' ? pemOrDer : Buffer.from(pemOrDer).toString('base64');
  const known = identities.get(key);
  if (known) return known;
  const identity = parseIdentity(pemOrDer);
  if (identities.size >= MAX_REMEMBERED) identities.delete(identities.keys().next().value!);
  identities.set(key, identity);
  return identity;
}

const MAX_REMEMBERED = 256;
const identities = new Map<string, CertificateIdentity>();

function parseIdentity(pemOrDer: string | Uint8Array): CertificateIdentity {
  let cert: PeculiarCertificate;
  try {
    cert = new PeculiarCertificate(typeof pemOrDer === 'string' ? pemOrDer : Uint8Array.from(pemOrDer));
  } catch (err) {
    throw new CertificateIdentityError(`unparseable certificate: ${(err as Error).message}`);
  }
  const san = cert.getExtension(SubjectAlternativeNameExtension);
  const uris = (san?.names.items ?? [])
    .filter((name) => name.type === 'url' && name.value.toLowerCase().startsWith('spiffe://'))
    .map((name) => name.value);
  if (uris.length !== 1) {
    throw new CertificateIdentityError(`certificate must carry exactly one SPIFFE URI, found ${uris.length}`);
  }
  return parseSpiffeId(uris[0] as string);
}

/**
 * True when `certPem` names `caPem` as issuer and carries a valid signature by the CA's key, and
 * the CA certificate is itself a CA. Validity periods are the TLS layer's concern.
 */
export function verifyIssuedBy(certPem: string | Uint8Array, caPem: string | Uint8Array): boolean {
  try {
    const cert = new X509Certificate(certPem);
    const ca = new X509Certificate(caPem);
    return ca.ca && cert.checkIssued(ca) && cert.verify(ca.publicKey);
  } catch {
    return false;
  }
}
