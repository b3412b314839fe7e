/**
 * A thin JSON REST client over the kubeconfig's credentials. Objects travel as plain JSON, exactly
 * as the builders produce them (client-node's model classes rename fields such as `from`).
 */
import { request, type RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
    deletionTimestamp?: string;
    ownerReferences?: { uid: string; kind: string; name: string }[];
    creationTimestamp?: string;
  };
  [k: string]: unknown;
}

export class KubeError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    what: string,
  ) {
    const msg = (body as { message?: string } | undefined)?.message ?? JSON.stringify(body);
    super(`${what}: ${status} ${msg}`);
  }
}

/** Plural resource names of every kind the operator touches; no discovery round trips. */
const PLURALS: Record<string, string> = {
  Namespace: 'namespaces',
  Pod: 'pods',
  Service: 'services',
  Secret: 'secrets',
  Event: 'events',
  ServiceAccount: 'serviceaccounts',
  PersistentVolumeClaim: 'persistentvolumeclaims',
  StatefulSet: 'statefulsets',
  Deployment: 'deployments',
  CronJob: 'cronjobs',
  NetworkPolicy: 'networkpolicies',
  PodDisruptionBudget: 'poddisruptionbudgets',
  Lease: 'leases',
  CustomResourceDefinition: 'customresourcedefinitions',
  ClusterRole: 'clusterroles',
  ClusterRoleBinding: 'clusterrolebindings',
  Role: 'roles',
  RoleBinding: 'rolebindings',
  Certificate: 'certificates',
  Issuer: 'issuers',
  ClusterIssuer: 'clusterissuers',
  KmsCluster: 'kmsclusters',
  ManagedKey: 'managedkeys',
  KeyRotation: 'keyrotations',
};
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'CustomResourceDefinition',
  'ClusterIssuer',
  'ClusterRole',
  'ClusterRoleBinding',
]);

export function resourcePath(apiVersion: string, kind: string, namespace?: string, name?: string): string {
  const plural = PLURALS[kind];
  if (!plural) throw new Error(`unknown kind ${kind}`);
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const ns = namespace && !CLUSTER_SCOPED.has(kind) ? `/namespaces/${namespace}` : '';
  return `${base}${ns}/${plural}${name ? `/${name}` : ''}`;
}

export class KubeClient {
  private readonly server: URL;
  constructor(readonly kc: KubeConfig) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.server = new URL(cluster.server);
  }

  async request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<{ status: number; body: T }> {
    const url = new URL(path, this.server);
    const opts: RequestOptions = { method, headers: { accept: 'application/json' } };
    await this.kc.applyToHTTPSOptions(opts);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    if (payload !== undefined)
      Object.assign(opts.headers!, { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) });
    const send = url.protocol === 'https:' ? request : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(url, opts, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            // non-JSON error pages are returned as text
          }
          resolve({ status: res.statusCode ?? 0, body: parsed as T });
        });
        res.on('error', reject);
      });
      req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  private async ok<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const r = await this.request<T>(method, path, body, contentType);
    if (r.status >= 300) throw new KubeError(r.status, r.body, `${method} ${path}`);
    return r.body;
  }

  /** GET that answers undefined for 404. */
  async get<T = KubeObject>(path: string): Promise<T | undefined> {
    const r = await this.request<T>('GET', path);
    if (r.status === 404) return undefined;
    if (r.status >= 300) throw new KubeError(r.status, r.body, `GET ${path}`);
    return r.body;
  }

  list<T = KubeObject>(path: string, query = ''): Promise<{ items: T[]; metadata: { resourceVersion?: string } }> {
    return this.ok('GET', `${path}${query ? `?${query}` : ''}`);
  }

  /** Server-side apply: the field manager owns exactly the fields the object sets. */
  apply<T = KubeObject>(
    obj: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } },
    fieldManager: string,
    subresource = '',
  ): Promise<T> {
    const path =
      resourcePath(obj.apiVersion, obj.kind, obj.metadata.namespace, obj.metadata.name) +
      (subresource ? `/${subresource}` : '');
    return this.ok(
      'PATCH',
      `${path}?fieldManager=${encodeURIComponent(fieldManager)}&force=true`,
      obj,
      'application/apply-patch+yaml',
    );
  }

  /** Creates the object unless it exists; answers whether it was created. */
  async createIfAbsent(
    obj: { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string } },
    fieldManager: string,
  ): Promise<boolean> {
    const path = resourcePath(obj.apiVersion ?? '', obj.kind ?? '', obj.metadata?.namespace);
    const r = await this.request('POST', `${path}?fieldManager=${encodeURIComponent(fieldManager)}`, obj);
    if (r.status === 409) return false;
    if (r.status >= 300) throw new KubeError(r.status, r.body, `POST ${path}`);
    return true;
  }

  create<T = KubeObject>(path: string, obj: unknown): Promise<T> {
    return this.ok('POST', path, obj);
  }

  replace<T = KubeObject>(path: string, obj: unknown): Promise<T> {
    return this.ok('PUT', path, obj);
  }

  mergePatch<T = KubeObject>(path: string, patch: unknown): Promise<T> {
    return this.ok('PATCH', path, patch, 'application/merge-patch+json');
  }

  jsonPatch<T = KubeObject>(path: string, ops: unknown[]): Promise<T> {
    return this.ok('PATCH', path, ops, 'application/json-patch+json');
  }

  async delete(path: string): Promise<void> {
    const r = await this.request('DELETE', path);
    if (r.status >= 300 && r.status !== 404) throw new KubeError(r.status, r.body, `DELETE ${path}`);
  }
}
