/**
 * The development certificate hierarchy (docs/architecture.md "Trust boundaries"; layout under CUSTOS_HOME as in README "Dev PKI"):
 *
 *   certs/ca.cert, certs/ca.key                      one CA, 10 years
 *   certs/gateway/gateway.cert, gateway.key          the gateway
 *   certs/<id>/<id>.cert, <id>.key                   one per TSS node (tss1..tssN)
 *
 * Keys are ECDSA P-256 in PKCS#8 PEM, mode 0600. In Kubernetes cert-manager issues the same
 * shapes; this module exists so a laptop can run the cluster over real mTLS.
 */
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  PemConverter,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
  X509Certificate as PeculiarCertificate,
  X509CertificateGenerator,
} from './x509.ts';
import { randomBytes, webcrypto } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeFileExclusive } from './exclusive-file.ts';
import { DEV_SCOPE, GATEWAY_ID, assertEntityId, spiffeIdOf, verifyIssuedBy, type ClusterScope } from './identity.ts';

const crypto = webcrypto;
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
const EC_KEY = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
const CA_NAME = 'CN=Custos Dev CA, O=Custos';
const CA_YEARS = 10;
const LEAF_YEARS = 1;
/** Back-date notBefore so a peer whose clock is slightly behind accepts a fresh certificate. */
const CLOCK_SKEW_MS = 5 * 60_000;

export const DEFAULT_CUSTOS_HOME = './.custos';

/** CUSTOS_HOME from the environment, or ./.custos, as an absolute path. */
export function custosHome(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.CUSTOS_HOME || DEFAULT_CUSTOS_HOME);
}

export interface EntityPaths {
  /** certs/<id>/ : also holds the node's .dek file. */
  readonly dir: string;
  readonly cert: string;
  readonly key: string;
  readonly caCert: string;
  readonly caKey: string;
}

export interface PkiLayout {
  readonly caCert: string;
  readonly caKey: string;
  readonly entities: Readonly<Record<string, EntityPaths>>;
  /** Files this call wrote; empty when everything already existed. */
  readonly created: readonly string[];
}

export function pkiLayout(home: string, id: string): EntityPaths {
  assertEntityId(id);
  const certs = join(home, 'certs');
  const dir = join(certs, id);
  return {
    dir,
    cert: join(dir, `${id}.cert`),
    key: join(dir, `${id}.key`),
    caCert: join(certs, 'ca.cert'),
    caKey: join(certs, 'ca.key'),
  };
}

export class DevPkiError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DevPkiError';
  }
}

/**
 * Creates whatever part of the hierarchy is missing for the gateway and `nodeIds`; never
 * overwrites. Refuses (rather than silently re-issuing) when a half-written pair or a certificate
 * from another CA is found, since replacing either would break peers that trust the old files.
 */
export async function ensureDevPki(
  home: string,
  nodeIds: readonly string[],
  scope: ClusterScope = DEV_SCOPE,
): Promise<PkiLayout> {
  const ids = [GATEWAY_ID, ...nodeIds.filter((id) => id !== GATEWAY_ID)];
  const layouts = ids.map((id) => ({ id, paths: pkiLayout(home, id) }));
  const caCertPath = pkiLayout(home, GATEWAY_ID).caCert;
  const caKeyPath = pkiLayout(home, GATEWAY_ID).caKey;
  const created: string[] = [];

  const caState = pairState(caCertPath, caKeyPath);
  if (caState === 'partial') throw new DevPkiError(`only one of ${caCertPath} and ${caKeyPath} exists`);
  if (caState === 'absent') {
    const orphan = layouts.find(({ paths }) => pairState(paths.cert, paths.key) !== 'absent');
    if (orphan) throw new DevPkiError(`${orphan.paths.cert} exists but its CA does not; remove it or restore the CA`);
    const ca = await createCa();
    await writeNew(caKeyPath, ca.keyPem, 0o600, created);
    await writeNew(caCertPath, ca.certPem, 0o644, created);
  }
  const caPem = await readFile(caCertPath, 'utf8');
  const caKey = await importPrivateKey(await readFile(caKeyPath, 'utf8'));
  const caCert = new PeculiarCertificate(caPem);

  for (const { id, paths } of layouts) {
    const state = pairState(paths.cert, paths.key);
    if (state === 'partial') throw new DevPkiError(`only one of ${paths.cert} and ${paths.key} exists`);
    if (state === 'present') {
      if (!verifyIssuedBy(await readFile(paths.cert), caPem)) {
        throw new DevPkiError(`${paths.cert} was not issued by ${caCertPath}`);
      }
      continue;
    }
    const leaf = await createLeaf(id, scope, caCert, caKey);
    await writeNew(paths.key, leaf.keyPem, 0o600, created);
    await writeNew(paths.cert, leaf.certPem, 0o644, created);
  }
  return {
    caCert: caCertPath,
    caKey: caKeyPath,
    entities: Object.fromEntries(layouts.map(({ id, paths }) => [id, paths])),
    created,
  };
}

/** The PEM files a TLS endpoint for `id` needs: the CA to trust, its certificate and its key. */
export function loadTlsMaterial(home: string, id: string): { ca: Buffer; cert: Buffer; key: Buffer } {
  const paths = pkiLayout(home, id);
  return { ca: readFileSync(paths.caCert), cert: readFileSync(paths.cert), key: readFileSync(paths.key) };
}

function pairState(a: string, b: string): 'present' | 'absent' | 'partial' {
  const count = Number(existsSync(a)) + Number(existsSync(b));
  return count === 2 ? 'present' : count === 0 ? 'absent' : 'partial';
}

async function writeNew(path: string, pem: string, mode: number, created: string[]): Promise<void> {
  if (!(await writeFileExclusive(path, pem, mode)))
    throw new DevPkiError(`${path} appeared while it was being created`);
  created.push(path);
}

export interface IssuedPair {
  certPem: string;
  keyPem: string;
}

async function createCa(): Promise<IssuedPair> {
  const keys = await generateKeyPair();
  const now = Date.now();
  const cert = await X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerial(),
      name: CA_NAME,
      notBefore: new Date(now - CLOCK_SKEW_MS),
      notAfter: addYears(now, CA_YEARS),
      signingAlgorithm: SIGNING,
      keys,
      extensions: [
        new BasicConstraintsExtension(true, undefined, true),
        new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
        await SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return { certPem: cert.toString('pem'), keyPem: await exportPrivateKey(keys.privateKey) };
}

/**
 * A fresh certificate and key for `id` in `scope`, signed by the CA in PEM; nothing is written.
 * Used to renew (rotate) a leaf, as cert-manager does in Kubernetes.
 */
export async function issueLeaf(
  caCertPem: string,
  caKeyPem: string,
  id: string,
  scope: ClusterScope = DEV_SCOPE,
): Promise<IssuedPair> {
  return createLeaf(id, scope, new PeculiarCertificate(caCertPem), await importPrivateKey(caKeyPem));
}

async function createLeaf(
  id: string,
  scope: ClusterScope,
  ca: PeculiarCertificate,
  caKey: CryptoKey,
): Promise<IssuedPair> {
  const keys = await generateKeyPair();
  const now = Date.now();
  const cert = await X509CertificateGenerator.create(
    {
      serialNumber: randomSerial(),
      subject: `CN=${id}, O=Custos`,
      issuer: ca.subject,
      notBefore: new Date(now - CLOCK_SKEW_MS),
      notAfter: addYears(now, LEAF_YEARS),
      signingAlgorithm: SIGNING,
      publicKey: keys.publicKey,
      signingKey: caKey,
      extensions: [
        new BasicConstraintsExtension(false, undefined, true),
        // Signing only (TLS handshakes, envelopes): protocol messages use per-session keys.
        new KeyUsagesExtension(KeyUsageFlags.digitalSignature, true),
        new ExtendedKeyUsageExtension([ExtendedKeyUsage.serverAuth, ExtendedKeyUsage.clientAuth]),
        new SubjectAlternativeNameExtension([
          { type: 'dns', value: id },
          { type: 'dns', value: 'localhost' },
          { type: 'ip', value: '127.0.0.1' },
          { type: 'url', value: spiffeIdOf(scope, id) },
        ]),
        await SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        await AuthorityKeyIdentifierExtension.create(ca, false, crypto),
      ],
    },
    crypto,
  );
  return { certPem: cert.toString('pem'), keyPem: await exportPrivateKey(keys.privateKey) };
}

function generateKeyPair(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify']);
}

async function exportPrivateKey(key: CryptoKey): Promise<string> {
  const der = new Uint8Array(await crypto.subtle.exportKey('pkcs8', key));
  const pem = PemConverter.encode(der, 'PRIVATE KEY');
  der.fill(0);
  return pem;
}

async function importPrivateKey(pem: string): Promise<CryptoKey> {
  const der = new Uint8Array(PemConverter.decodeFirst(pem));
  try {
    return await crypto.subtle.importKey('pkcs8', der, EC_KEY, false, ['sign']);
  } finally {
    der.fill(0);
  }
}

/** A positive 127-bit serial (RFC 5280 allows up to 20 octets; the high bit must be clear). */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] as number) & 0x7f;
  return bytes.toString('hex');
}

function addYears(fromMs: number, years: number): Date {
  const date = new Date(fromMs);
  date.setUTCFullYear(date.getUTCFullYear() + years);
  return date;
}
