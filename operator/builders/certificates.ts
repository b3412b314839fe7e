/** cert-manager objects: the cluster CA (when bootstrapped) and one certificate per node and gateway. */
import type { ICertificate } from '@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate';
import type { IIssuer } from '@kubernetes-models/cert-manager/cert-manager.io/v1/Issuer';
import type { KmsCluster } from '../api/v1alpha1/index.ts';
import { spiffeIdOf } from '../../common/pki/identity.ts';
import { caName, consoleName, gatewayName, nodeName, objectMeta } from './meta.ts';

export const selfSignedIssuerName = (c: KmsCluster): string => `${c.metadata.name}-selfsigned`;

/** The issuer that signs node and gateway certificates: the user's, or the bootstrapped CA. */
export function issuerRef(c: KmsCluster): { name: string; kind: string; group: string } {
  return c.spec.tls.issuerRef ?? { name: caName(c), kind: 'Issuer', group: 'cert-manager.io' };
}

/** Bootstrap step 1: a self-signed issuer that only signs the CA certificate. */
export function selfSignedIssuer(c: KmsCluster): IIssuer {
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Issuer',
    metadata: objectMeta(c, selfSignedIssuerName(c)),
    spec: { selfSigned: {} },
  };
}

/** Bootstrap step 2: the cluster CA, ECDSA P-256, ten years. */
export function caCertificate(c: KmsCluster): ICertificate {
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: objectMeta(c, caName(c)),
    spec: {
      isCA: true,
      commonName: `${c.metadata.name} Custos CA`,
      secretName: caName(c),
      duration: '87600h',
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Never' },
      issuerRef: { name: selfSignedIssuerName(c), kind: 'Issuer', group: 'cert-manager.io' },
    },
  };
}

/** Bootstrap step 3: the CA issuer that signs node and gateway certificates. */
export function caIssuer(c: KmsCluster): IIssuer {
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Issuer',
    metadata: objectMeta(c, caName(c)),
    spec: { ca: { secretName: caName(c) } },
  };
}

function leafCertificate(
  c: KmsCluster,
  name: string,
  id: string,
  dnsNames: string[],
  component: 'node' | 'gateway',
): ICertificate {
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: objectMeta(c, name, component, component === 'node' ? id : undefined),
    spec: {
      secretName: `${name}-tls`,
      commonName: id,
      // The node id is the first SAN: peers check it against the id they expect.
      dnsNames: [id, ...dnsNames],
      // The identity every mTLS peer checks (common/pki/identity.ts), scoped to this KmsCluster.
      uris: [spiffeIdOf({ namespace: c.metadata.namespace, cluster: c.metadata.name }, id)],
      duration: c.spec.tls.duration,
      renewBefore: c.spec.tls.renewBefore,
      usages: ['digital signature', 'key encipherment', 'server auth', 'client auth'],
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
      issuerRef: issuerRef(c),
    },
  };
}

export function serviceDnsNames(c: KmsCluster, service: string): string[] {
  const ns = c.metadata.namespace;
  return [service, `${service}.${ns}`, `${service}.${ns}.svc`, `${service}.${ns}.svc.cluster.local`];
}

export function nodeCertificate(c: KmsCluster, id: string): ICertificate {
  const svc = nodeName(c, id);
  return leafCertificate(
    c,
    svc,
    id,
    [...serviceDnsNames(c, svc), `${svc}-0.${svc}.${c.metadata.namespace}.svc`],
    'node',
  );
}

export function gatewayCertificate(c: KmsCluster): ICertificate {
  // localhost: `kubectl port-forward` to the gateway Service verifies like any other client. The
  // console serves the same certificate under its own Service name.
  return leafCertificate(
    c,
    gatewayName(c),
    'gateway',
    [...serviceDnsNames(c, gatewayName(c)), ...serviceDnsNames(c, consoleName(c)), 'localhost'],
    'gateway',
  );
}
