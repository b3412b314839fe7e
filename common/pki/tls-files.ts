/**
 * TLS material read from files and reloaded when they change, so a certificate renewed by
 * cert-manager (the kubelet swaps the mounted Secret's files atomically) or re-issued by hand is
 * used by new handshakes without a restart. Existing connections and sessions keep their keys.
 *
 * Polls a SHA-256 of the three files (mtime alone misses same-second rewrites); a new set is only
 * taken once the key matches the certificate and the certificate chains to the CA, so a
 * half-written or mismatched rotation never replaces working material.
 */
import type { experimental } from '@grpc/grpc-js';
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pkiLayout } from './dev-pki.ts';

export interface TlsPaths {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

export interface TlsMaterial {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** The dev PKI layout under CUSTOS_HOME: certs/ca.cert, certs/<id>/<id>.cert|.key. */
export function devTlsPaths(home: string, id: string): TlsPaths {
  const p = pkiLayout(home, id);
  return { ca: p.caCert, cert: p.cert, key: p.key };
}

/** A mounted cert-manager Secret (kubernetes.io/tls): ca.crt, tls.crt, tls.key in one directory. */
export function secretTlsPaths(dir: string): TlsPaths {
  return { ca: join(dir, 'ca.crt'), cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') };
}

export function readTlsMaterial(paths: TlsPaths): TlsMaterial {
  return { ca: readFileSync(paths.ca), cert: readFileSync(paths.cert), key: readFileSync(paths.key) };
}

/** Throws unless the key belongs to the certificate and the certificate was issued by the CA. */
export function checkTlsMaterial(m: TlsMaterial): void {
  const cert = new X509Certificate(m.cert);
  const ca = new X509Certificate(m.ca);
  if (!cert.checkPrivateKey(createPrivateKey(m.key))) throw new Error('the private key does not match the certificate');
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) throw new Error('the certificate was not issued by the CA');
}

const fingerprint = (m: TlsMaterial): string =>
  createHash('sha256').update(m.ca).update(m.cert).update(m.key).digest('hex');

export interface ReloadingTlsOptions {
  readonly intervalMs?: number;
  /** Called with the new material after a change was taken. */
  readonly onChange?: (m: TlsMaterial) => void;
  /** Called when changed files were refused (kept the previous material). */
  readonly onError?: (err: Error) => void;
}

/**
 * The current TLS material of one endpoint, and a grpc-js certificate provider (CA and identity)
 * that hands every change to the channel or server credentials built on it.
 */
export class ReloadingTls implements experimental.CertificateProvider {
  private material: TlsMaterial;
  private print: string;
  private timer?: NodeJS.Timeout;
  private readonly caListeners = new Set<experimental.CaCertificateUpdateListener>();
  private readonly identityListeners = new Set<experimental.IdentityCertificateUpdateListener>();
  private readonly changeListeners = new Set<(m: TlsMaterial) => void>();

  constructor(
    readonly paths: TlsPaths,
    private readonly opts: ReloadingTlsOptions = {},
  ) {
    this.material = readTlsMaterial(paths);
    checkTlsMaterial(this.material);
    this.print = fingerprint(this.material);
    if (opts.onChange) this.changeListeners.add(opts.onChange);
  }

  get current(): TlsMaterial {
    return this.material;
  }

  /** Polls the files every `intervalMs` (default 5 s); the timer does not keep the process alive. */
  start(): this {
    this.timer ??= setInterval(() => this.check(), this.opts.intervalMs ?? 5000).unref();
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  onChange(listener: (m: TlsMaterial) => void): void {
    this.changeListeners.add(listener);
  }

  /** Reads the files now; true when new material was taken. */
  check(): boolean {
    let next: TlsMaterial;
    try {
      next = readTlsMaterial(this.paths);
      if (fingerprint(next) === this.print) return false;
      checkTlsMaterial(next);
    } catch (err) {
      this.opts.onError?.(err as Error);
      return false;
    }
    this.material = next;
    this.print = fingerprint(next);
    for (const l of this.caListeners) l({ caCertificate: next.ca });
    for (const l of this.identityListeners) l({ certificate: next.cert, privateKey: next.key });
    for (const l of this.changeListeners) l(next);
    return true;
  }

  addCaCertificateListener(listener: experimental.CaCertificateUpdateListener): void {
    this.caListeners.add(listener);
    // Deferred: grpc-js reads a server's first context only after registering its listeners.
    queueMicrotask(() => this.caListeners.has(listener) && listener({ caCertificate: this.material.ca }));
  }
  removeCaCertificateListener(listener: experimental.CaCertificateUpdateListener): void {
    this.caListeners.delete(listener);
  }
  addIdentityCertificateListener(listener: experimental.IdentityCertificateUpdateListener): void {
    this.identityListeners.add(listener);
    queueMicrotask(
      () =>
        this.identityListeners.has(listener) &&
        listener({ certificate: this.material.cert, privateKey: this.material.key }),
    );
  }
  removeIdentityCertificateListener(listener: experimental.IdentityCertificateUpdateListener): void {
    this.identityListeners.delete(listener);
  }
}
