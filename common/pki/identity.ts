import { SubjectAlternativeNameExtension, X509Certificate as PeculiarCertificate } from './x509.ts';
import { X509Certificate } from 'node:crypto';

/**
 * Workload identities (SPIFFE ids in the certificates' URI SAN), one scheme for the dev PKI, the
 * operator's cert-manager Certificates and every mTLS check:
 *
 *   spiffe://custos.dev/ns/<namespace>/cluster/<cluster>/gateway
 *   spiffe://custos.dev/ns/<namespace>/cluster/<cluster>/node/<id>
 *
 * The namespace/cluster pair scopes an identity to one Custos cluster, so a certificate issued
 * for another KmsCluster under the same CA (a shared ClusterIssuer) is refused by peers.
 */
export const SPIFFE_TRUST_DOMAIN = 'custos.dev';
export const GATEWAY_ID = 'gateway';

/** Node ids name directories and files, so they are restricted to a safe, simple alphabet. */
export const NODE_ID_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;
/** Kubernetes namespace and object names (RFC 1123 labels). */
const SCOPE_PART = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Which Custos cluster an identity belongs to: the KmsCluster's namespace and name. */
export interface ClusterScope {
  readonly namespace: string;
  readonly cluster: string;
}

/** The scope of a cluster made by the dev PKI (hack/dev-pki.ts, local test clusters). */
export const DEV_SCOPE: ClusterScope = { namespace: 'local', cluster: 'dev' };

export type CertificateIdentity = ClusterScope &
  ({ kind: 'gateway'; id: typeof GATEWAY_ID } | { kind: 'node'; id: string });

export class CertificateIdentityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CertificateIdentityError';
  }
}

export function assertEntityId(id: string): void {
  if (!NODE_ID_PATTERN.test(id)) throw new CertificateIdentityError(`invalid node id ${JSON.stringify(id)}`);
}

function assertScope(scope: ClusterScope): void {
  if (!SCOPE_PART.test(scope.namespace) || !SCOPE_PART.test(scope.cluster)) {
    throw new CertificateIdentityError(`invalid cluster scope ${JSON.stringify(scope)}`);
  }
}

/** The SPIFFE id a certificate for `id` (the gateway's, or a node's) in `scope` carries. */
export function spiffeIdOf(scope: ClusterScope, id: string): string {
  assertEntityId(id);
  assertScope(scope);
  const base = `spiffe://${SPIFFE_TRUST_DOMAIN}/ns/${scope.namespace}/cluster/${scope.cluster}`;
  return id === GATEWAY_ID ? `${base}/gateway` : `${base}/node/${id}`;
}

/** Parses a Custos SPIFFE id; throws on anything else. */
export function parseSpiffeId(uri: string): CertificateIdentity {
  const prefix = `spiffe://${SPIFFE_TRUST_DOMAIN}/`;
  if (!uri.startsWith(prefix)) throw new CertificateIdentityError(`not a Custos identity: ${uri}`);
  const match = /^ns\/([^/]+)\/cluster\/([^/]+)\/(gateway|node\/([^/]+))$/.exec(uri.slice(prefix.length));
  const [, namespace, cluster, what, nodeId] = match ?? [];
  if (!namespace || !cluster || !SCOPE_PART.test(namespace) || !SCOPE_PART.test(cluster)) {
    throw new CertificateIdentityError(`malformed Custos identity: ${uri}`);
  }
  if (what === 'gateway') return { namespace, cluster, kind: 'gateway', id: GATEWAY_ID };
  if (nodeId === undefined || nodeId === GATEWAY_ID || !NODE_ID_PATTERN.test(nodeId)) {
    throw new CertificateIdentityError(`malformed Custos identity: ${uri}`);
  }
  return { namespace, cluster, kind: 'node', id: nodeId };
}

export const sameCluster = (a: ClusterScope, b: ClusterScope): boolean =>
  a.namespace === b.namespace && a.cluster === b.cluster;

/**
 * Why `peer` is not the party expected (`kind`, and `id` for a node) in `own`'s cluster, or
 * undefined when it is. Every mTLS check goes through here.
 */
export function peerMismatch(
  own: ClusterScope,
  peer: CertificateIdentity,
  expected: { kind: 'gateway' } | { kind: 'node'; id?: string },
): string | undefined {
  const name = `${peer.kind} ${peer.id} of ${peer.namespace}/${peer.cluster}`;
  if (!sameCluster(own, peer)) return `peer is ${name}, not a member of ${own.namespace}/${own.cluster}`;
  if (peer.kind !== expected.kind) return `peer is ${name}, expected a ${expected.kind}`;
  if (expected.kind === 'node' && expected.id !== undefined && peer.id !== expected.id) {
    return `peer is ${name}, expected node ${expected.id}`;
  }
  return undefined;
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
