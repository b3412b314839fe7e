/** Kubernetes Events for user-visible transitions (core/v1, shown by `kubectl describe`). */
import type { KubeClient, KubeObject } from './client.ts';

export async function recordEvent(
  client: KubeClient,
  obj: KubeObject,
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
  component = 'custos-operator',
): Promise<void> {
  const ns = obj.metadata.namespace ?? 'default';
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  await client.create(`/api/v1/namespaces/${ns}/events`, {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { generateName: `${obj.metadata.name}.`, namespace: ns },
    involvedObject: {
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      name: obj.metadata.name,
      namespace: ns,
      uid: obj.metadata.uid,
      resourceVersion: obj.metadata.resourceVersion,
    },
    type,
    reason,
    message: message.slice(0, 1024),
    source: { component },
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  });
}
