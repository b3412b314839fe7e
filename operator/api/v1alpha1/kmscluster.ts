/** KmsCluster: one Custos deployment (TSS nodes, gateway, certificates, policies, backups). */
import { z } from 'zod';
import { SERVED_ALGORITHMS } from '../../../common/api/schemas.ts';
import {
  cel,
  ConditionsSchema,
  DnsNameSchema,
  QuantitySchema,
  ResourceRequirementsSchema,
  SecretKeyRefSchema,
  LocalObjectRefSchema,
  FreeFormSchema,
  type ObjectMeta,
} from './common.ts';

/**
 * Longest KmsCluster name. The tightest generated name is a node's backup CronJob,
 * <name>-tss16-backup, and a CronJob name may have 52 characters (its Jobs append 11);
 * <name>-tss16's pods and controller-revision-hash labels (63) fit within that as well.
 */
export const MAX_CLUSTER_NAME_LENGTH = 52 - '-tss16-backup'.length;

export const CIDR_PATTERN = /^([0-9]{1,3}\.){3}[0-9]{1,3}\/[0-9]{1,2}$|^[0-9a-fA-F:]+\/[0-9]{1,3}$/;
const CidrSchema = z.string().max(64).regex(CIDR_PATTERN, 'a CIDR such as 10.0.0.0/8');
const LabelsSchema = z.record(z.string().max(317), z.string().max(63));

/** Where a dependency (database, Redis) lives, for the gateway's egress policy. */
export const NetworkPeerSchema = z
  .object({
    cidr: CidrSchema.optional(),
    namespace: DnsNameSchema.optional(),
    podLabels: LabelsSchema.optional(),
  })
  .strict()
  .meta(
    cel({
      rule: 'has(self.cidr) || has(self.__namespace__) || has(self.podLabels)',
      message: 'name a cidr, a namespace or podLabels',
    }),
  );

/**
 * A fully qualified image reference: registry host, path and a tag or digest. Unqualified names
 * (resolved against whatever registry a node is configured with) and `latest` are refused.
 */
export const IMAGE_REFERENCE =
  /^[a-z0-9.-]+(:[0-9]+)?\/[a-z0-9._/-]+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})$/;
const notLatest = { rule: "!self.endsWith(':latest')", message: 'the latest tag is not allowed: pin a version' };
const ImageSchema = z
  .string()
  .min(1)
  .max(512)
  .regex(IMAGE_REFERENCE, 'registry/path:tag or registry/path@sha256:digest')
  .refine((s) => !s.endsWith(':latest'), notLatest.message)
  .meta(cel(notLatest));
export const DEFAULT_REGISTRY = 'ghcr.io/custos-dev';
export const DEFAULT_IMAGE_TAG = '0.1.0';

export const ImagesSchema = z
  .object({
    registry: z
      .string()
      .min(1)
      .max(253)
      .regex(/^[a-z0-9.-]+(:[0-9]+)?(\/[a-z0-9._-]+)*$/)
      .default(DEFAULT_REGISTRY)
      .describe('Registry (and path) of custos-node and custos-gateway'),
    tag: z
      .string()
      .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/)
      .refine((t) => t !== 'latest', notLatest.message)
      .meta(cel({ rule: "self != 'latest'", message: notLatest.message }))
      .default(DEFAULT_IMAGE_TAG)
      .describe('Tag of custos-node and custos-gateway (never latest)'),
    node: ImageSchema.optional().describe('Full reference; overrides registry and tag'),
    gateway: ImageSchema.optional().describe('Full reference; overrides registry and tag'),
    backup: ImageSchema.default('docker.io/library/busybox:1.37'),
    pkcs11Sidecar: ImageSchema.optional(),
    pullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
    pullSecrets: z.array(LocalObjectRefSchema).max(8).default([]).describe('imagePullSecrets of every pod'),
  })
  .strict();

/** Extra scheduling and volumes for the node pods (e.g. an HSM client's config, dedicated hosts). */
export const NodePodSchema = z
  .object({
    volumes: z.array(FreeFormSchema).max(16).optional().describe('core/v1 Volume objects'),
    volumeMounts: z
      .array(FreeFormSchema)
      .max(16)
      .optional()
      .describe('core/v1 VolumeMount objects for the node container'),
    tolerations: z.array(FreeFormSchema).max(16).optional(),
    nodeSelector: z.record(z.string().max(317), z.string().max(63)).optional(),
    affinity: FreeFormSchema.optional().describe('core/v1 Affinity'),
  })
  .strict();

/** CEL: the secretPrefix of an unseal object, '' when unset. */
const prefixOf = (v: string) =>
  `(has(${v}.password) && has(${v}.password.secretPrefix) ? ${v}.password.secretPrefix : '')`;

export const UnsealSchema = z
  .object({
    mode: z.enum(['Password', 'PKCS11']).default('Password'),
    password: z
      .object({
        secretPrefix: DnsNameSchema.optional().describe(
          'Use Secrets <prefix>-<nodeId> (key "password") instead of operator-generated ones',
        ),
      })
      .strict()
      .optional(),
    pkcs11: z
      .object({
        modulePath: z.string().min(1).max(512),
        tokenLabel: z.string().min(1).max(32),
        keyLabel: z.string().min(1).max(128),
        pinSecretRef: SecretKeyRefSchema,
        network: z
          .object({ peer: NetworkPeerSchema, port: z.int().min(1).max(65535) })
          .strict()
          .optional()
          .describe('A network HSM: the only egress the node pods get (the PKCS#11 sidecar dials it)'),
      })
      .strict()
      .optional(),
  })
  .strict()
  .meta(
    cel(
      {
        rule: "self.mode != 'PKCS11' || has(self.pkcs11)",
        message: 'unseal.pkcs11 is required when mode is PKCS11',
      },
      // Shares on the volumes are sealed under the KEK of this mode and these Secrets.
      { rule: 'self.mode == oldSelf.mode', message: 'unseal.mode is immutable' },
      {
        rule: `${prefixOf('self')} == ${prefixOf('oldSelf')}`,
        message: 'unseal.password.secretPrefix is immutable',
      },
    ),
  );

export const TlsSchema = z
  .object({
    issuerRef: z
      .object({
        name: DnsNameSchema,
        kind: z.enum(['Issuer', 'ClusterIssuer']).default('Issuer'),
        group: z.string().max(253).default('cert-manager.io'),
      })
      .strict()
      .optional()
      .describe('A cert-manager issuer; without one the operator bootstraps a self-signed CA'),
    duration: z
      .string()
      .regex(/^([0-9]+h)?([0-9]+m)?([0-9]+s)?$/)
      .default('2160h'),
    renewBefore: z
      .string()
      .regex(/^([0-9]+h)?([0-9]+m)?([0-9]+s)?$/)
      .default('360h'),
  })
  .strict()
  .meta(
    cel({
      // Peers trust one CA: a new issuer would split the cluster until every pod restarts.
      rule: 'has(self.issuerRef) == has(oldSelf.issuerRef) && (!has(self.issuerRef) || self.issuerRef == oldSelf.issuerRef)',
      message: 'tls.issuerRef is immutable',
    }),
  );

/** The admin console: the gateway's second port, with its own Service and NetworkPolicy. */
export const ConsoleSchema = z
  .object({
    enabled: z.boolean().default(true),
    serviceType: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer']).default('ClusterIP'),
    /** Who may reach the console: administrators' networks, not the API's clients. */
    allowedCIDRs: z.array(CidrSchema).max(64).default([]),
    allowedNamespaces: z.array(DnsNameSchema).max(64).default([]),
  })
  .strict();

export const GatewaySchema = z
  .object({
    replicas: z.int().min(1).max(32).default(1),
    serviceType: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer']).default('ClusterIP'),
    allowedClientCIDRs: z.array(CidrSchema).max(64).default([]),
    allowedClientNamespaces: z.array(DnsNameSchema).max(64).default([]),
    console: ConsoleSchema.default(ConsoleSchema.parse({})),
  })
  .strict();

export const DatabaseSchema = z
  .object({
    type: z.enum(['Embedded', 'MySQL']).default('Embedded'),
    mysql: z
      .object({
        host: z.string().min(1).max(253),
        port: z.int().min(1).max(65535).default(3306),
        database: z.string().min(1).max(64).default('custos'),
        credentialsSecret: DnsNameSchema.describe('Secret with keys "username" and "password"'),
        network: NetworkPeerSchema,
      })
      .strict()
      .optional(),
    size: QuantitySchema.default('1Gi').describe('Size of the embedded database volume'),
  })
  .strict()
  .meta(
    cel(
      { rule: "self.type != 'MySQL' || has(self.mysql)", message: 'database.mysql is required when type is MySQL' },
      { rule: 'self.type == oldSelf.type', message: 'database.type is immutable (key metadata lives there)' },
    ),
  );

export const RedisSchema = z
  .object({
    host: z.string().min(1).max(253),
    port: z.int().min(1).max(65535).default(6379),
    passwordSecretRef: SecretKeyRefSchema.optional(),
    network: NetworkPeerSchema,
  })
  .strict();

export const BackupSchema = z
  .object({
    schedule: z.string().min(9).max(128).default('0 2 * * *').describe('cron schedule (UTC)'),
    retention: z.int().min(1).max(365).default(7).describe('backups kept per node'),
    destination: z
      .object({ claimName: DnsNameSchema.describe('PersistentVolumeClaim that receives the encrypted archives') })
      .strict(),
  })
  .strict();

export const TopologySpreadSchema = z
  .object({
    topologyKey: z.string().min(1).max(317).default('kubernetes.io/hostname'),
    whenUnsatisfiable: z.enum(['DoNotSchedule', 'ScheduleAnyway']).default('ScheduleAnyway'),
  })
  .strict();

export const KmsClusterSpecSchema = z
  .object({
    nodes: z.int().min(2).max(16).default(4).describe('Number of TSS nodes (tss1..tssN)'),
    keyDefaults: z
      .object({ shardCount: z.int().min(2).max(16).default(3), threshold: z.int().min(2).max(16).default(2) })
      .strict()
      .default({ shardCount: 3, threshold: 2 }),
    algorithms: z
      .array(z.enum(SERVED_ALGORITHMS))
      .min(1)
      .max(SERVED_ALGORITHMS.length)
      .default([...SERVED_ALGORITHMS])
      .describe('Algorithms the gateway serves; keys of any other algorithm are refused (422)')
      .meta({ 'x-kubernetes-list-type': 'set' }),
    images: ImagesSchema.default(ImagesSchema.parse({})),
    storage: z
      .object({ storageClassName: z.string().max(253).optional(), size: QuantitySchema.default('1Gi') })
      .strict()
      .meta(cel({ rule: 'self == oldSelf', message: 'storage is immutable (volume claim templates cannot change)' }))
      .default({ size: '1Gi' }),
    resources: z
      .object({ node: ResourceRequirementsSchema.optional(), gateway: ResourceRequirementsSchema.optional() })
      .strict()
      .optional(),
    unseal: UnsealSchema.default({ mode: 'Password' }),
    tls: TlsSchema.default({ duration: '2160h', renewBefore: '360h' }),
    gateway: GatewaySchema.default(GatewaySchema.parse({})),
    database: DatabaseSchema.default({ type: 'Embedded', size: '1Gi' }),
    redis: RedisSchema.optional(),
    backup: BackupSchema.optional(),
    topologySpread: TopologySpreadSchema.optional(),
    nodePod: NodePodSchema.optional(),
  })
  .strict()
  .meta(
    cel(
      {
        rule: 'self.keyDefaults.threshold <= self.keyDefaults.shardCount',
        message: 'keyDefaults.threshold must not exceed keyDefaults.shardCount',
      },
      {
        rule: 'self.keyDefaults.shardCount <= self.nodes',
        message: 'keyDefaults.shardCount must not exceed nodes',
      },
      {
        rule: 'self.nodes >= oldSelf.nodes',
        message: 'nodes cannot be decreased: shares on removed nodes would be lost (re-share first)',
      },
      {
        rule: "self.gateway.replicas == 1 || (self.database.type == 'MySQL' && has(self.redis))",
        message: 'more than one gateway replica needs database.type MySQL and redis (SQLite has one writer)',
      },
      {
        rule: "self.unseal.mode != 'PKCS11' || has(self.images.pkcs11Sidecar)",
        message: 'images.pkcs11Sidecar is required when unseal.mode is PKCS11',
      },
    ),
  );
export type KmsClusterSpec = z.infer<typeof KmsClusterSpecSchema>;

export const NodeStatusSchema = z.object({
  id: z.string().max(16),
  ready: z.boolean(),
  pod: z.string().max(253).optional(),
});

export const CertificateStatusSchema = z.object({
  name: z.string().max(253),
  ready: z.boolean(),
  notAfter: z.string().meta({ format: 'date-time' }).optional().describe('expiry of the current certificate'),
  lastRenewal: z
    .string()
    .meta({ format: 'date-time' })
    .optional()
    .describe('when the current certificate was issued (its notBefore)'),
  renewalTime: z.string().meta({ format: 'date-time' }).optional().describe('when cert-manager renews it next'),
});

export const KmsClusterStatusSchema = z.object({
  observedGeneration: z.int().min(0).optional(),
  phase: z.enum(['Pending', 'Progressing', 'Ready', 'Degraded']).optional(),
  conditions: ConditionsSchema.optional(),
  nodes: z.array(NodeStatusSchema).max(16).optional(),
  readyNodes: z.int().min(0).optional(),
  gateway: z.object({ endpoint: z.string().max(512).optional(), readyReplicas: z.int().min(0).optional() }).optional(),
  accessKeySecret: z
    .string()
    .max(253)
    .optional()
    .describe("Secret holding the operator's gateway access key (key-admin: cannot sign)"),
  adminCredentialsSecret: z
    .string()
    .max(253)
    .optional()
    .describe('Secret holding the first admin access key: base_url, access_key, secret_key'),
  certificates: z.array(CertificateStatusSchema).max(20).optional(),
  tls: z
    .object({
      earliestExpiry: z.string().meta({ format: 'date-time' }).optional(),
      lastRenewal: z.string().meta({ format: 'date-time' }).optional(),
    })
    .optional(),
});
export type KmsClusterStatus = z.infer<typeof KmsClusterStatusSchema>;

export const KMS_CLUSTER_CONDITIONS = [
  'Ready',
  'CertificatesReady',
  'NodesReady',
  'GatewayReady',
  'NodesUpToDate',
  'BackupScheduled',
] as const;

export interface KmsCluster {
  apiVersion: 'custos.dev/v1alpha1';
  kind: 'KmsCluster';
  metadata: ObjectMeta;
  spec: KmsClusterSpec;
  status?: KmsClusterStatus;
}
