/** One backup CronJob per node: archives the node's encrypted LevelDB volume (ciphertext only). */
import type { V1CronJob } from '@kubernetes/client-node';
import type { KmsCluster } from '../api/v1alpha1/index.ts';
import {
  containerSecurityContext,
  imagePullSecrets,
  nodeName,
  objectMeta,
  podSecurityContext,
  selectorLabels,
} from './meta.ts';

/**
 * Shares are AES-256-GCM ciphertext under a DEK that is itself wrapped by the KEK, so the archive
 * never holds usable key material. Keeps the newest `retention` archives and their checksums.
 */
export function backupScript(id: string, retention: number): string {
  return [
    'set -eu',
    `dir=/backup/${id}`,
    'mkdir -p "$dir"',
    'stamp=$(date -u +%Y%m%dT%H%M%SZ)',
    `tar -czf "$dir/${id}_data_$stamp.tar.gz" -C /data .`,
    `sha256sum "$dir/${id}_data_$stamp.tar.gz" > "$dir/${id}_data_$stamp.sha256"`,
    `ls -1t "$dir"/*.tar.gz | tail -n +${retention + 1} | while read -r f; do rm -f "$f" "\${f%.tar.gz}.sha256"; done`,
  ].join('\n');
}

export function backupCronJob(c: KmsCluster, id: string): V1CronJob | undefined {
  const b = c.spec.backup;
  if (!b) return undefined;
  const node = nodeName(c, id);
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: objectMeta(c, `${node}-backup`, 'backup', id),
    spec: {
      schedule: b.schedule,
      timeZone: 'Etc/UTC',
      concurrencyPolicy: 'Forbid',
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
      jobTemplate: {
        spec: {
          backoffLimit: 2,
          template: {
            metadata: { labels: selectorLabels(c, 'backup', id) },
            spec: {
              restartPolicy: 'Never',
              automountServiceAccountToken: false,
              enableServiceLinks: false,
              securityContext: podSecurityContext,
              ...(c.spec.images.pullSecrets.length ? { imagePullSecrets: imagePullSecrets(c) } : {}),
              // The node's volume is ReadWriteOnce: run next to the node pod to mount it read-only.
              affinity: {
                podAffinity: {
                  requiredDuringSchedulingIgnoredDuringExecution: [
                    {
                      labelSelector: { matchLabels: selectorLabels(c, 'node', id) },
                      topologyKey: 'kubernetes.io/hostname',
                    },
                  ],
                },
              },
              containers: [
                {
                  name: 'backup',
                  image: c.spec.images.backup,
                  imagePullPolicy: c.spec.images.pullPolicy,
                  command: ['/bin/sh', '-c', backupScript(id, b.retention)],
                  securityContext: containerSecurityContext,
                  volumeMounts: [
                    { name: 'data', mountPath: '/data', readOnly: true },
                    { name: 'backup', mountPath: '/backup' },
                  ],
                },
              ],
              volumes: [
                { name: 'data', persistentVolumeClaim: { claimName: `data-${node}-0`, readOnly: true } },
                { name: 'backup', persistentVolumeClaim: { claimName: b.destination.claimName } },
              ],
            },
          },
        },
      },
    },
  };
}
