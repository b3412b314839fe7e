/**
 * Rolling changes through the TSS nodes one at a time, driven by the operator (as CloudNativePG
 * does for PostgreSQL instances). Node StatefulSets use `updateStrategy: OnDelete`, so applying a
 * new spec (image, resources, ...) restarts nothing by itself; the operator then deletes one
 * outdated node pod at a time, and only while every other node is Ready: unsealed and serving its
 * shares (the readiness probe asks the node's own Health RPC). A key whose shard count exceeds its
 * threshold therefore always keeps a signing quorum; a key with threshold == shardCount cannot
 * sign while one of its holders restarts, whatever the strategy.
 */
import type { ConditionInput } from './conditions.ts';

/** One node as its StatefulSet reports it. */
export interface NodeRollout {
  readonly id: string;
  /** The pod runs the StatefulSet's current template (status.updatedReplicas >= 1). */
  readonly updated: boolean;
  readonly ready: boolean;
  /** The StatefulSet controller has seen the latest spec (status.observedGeneration). */
  readonly observed: boolean;
}

export type RolloutStep =
  | { readonly action: 'done' }
  | { readonly action: 'wait'; readonly reason: string }
  | { readonly action: 'restart'; readonly node: string; readonly reason: string };

/** Which node pod to restart next, or none: pure, so every rule is unit-tested. */
export function planRollout(nodes: readonly NodeRollout[]): RolloutStep {
  const unobserved = nodes.filter((n) => !n.observed).map((n) => n.id);
  if (unobserved.length) return { action: 'wait', reason: `StatefulSet status is stale for ${unobserved.join(', ')}` };
  const outdated = nodes.filter((n) => !n.updated);
  if (!outdated.length) return { action: 'done' };
  const down = nodes.filter((n) => !n.ready);
  // Restarting a node that is down already costs no availability, and may be what heals it.
  const downAndOutdated = down.find((n) => !n.updated);
  if (downAndOutdated && down.length === 1)
    return { action: 'restart', node: downAndOutdated.id, reason: `${downAndOutdated.id} is not ready and outdated` };
  if (down.length)
    return { action: 'wait', reason: `waiting for ${down.map((n) => n.id).join(', ')} to be ready (unsealed)` };
  const next = outdated[0]!;
  return { action: 'restart', node: next.id, reason: `every node is ready; updating ${next.id}` };
}

/** The `NodesUpToDate` condition for a plan. */
export function rolloutCondition(nodes: readonly NodeRollout[], step: RolloutStep): ConditionInput {
  const updated = nodes.filter((n) => n.updated).length;
  const progress = `${updated}/${nodes.length} nodes updated`;
  if (step.action === 'done')
    return { type: 'NodesUpToDate', status: 'True', reason: 'UpToDate', message: `${progress}` };
  if (step.action === 'wait')
    return { type: 'NodesUpToDate', status: 'False', reason: 'RolloutWaiting', message: `${progress}; ${step.reason}` };
  return {
    type: 'NodesUpToDate',
    status: 'False',
    reason: 'RollingUpdate',
    message: `${progress}; restarting ${step.node} (${step.reason})`,
  };
}

interface StatefulSetView {
  metadata?: { generation?: number };
  status?: {
    observedGeneration?: number;
    readyReplicas?: number;
    updatedReplicas?: number;
    currentRevision?: string;
    updateRevision?: string;
  };
}

/** A node's rollout state from its StatefulSet (undefined while the StatefulSet does not exist yet). */
export function nodeRollout(id: string, sts: StatefulSetView | undefined): NodeRollout {
  const s = sts?.status;
  return {
    id,
    observed: !!sts && (s?.observedGeneration ?? -1) >= (sts.metadata?.generation ?? 0),
    ready: (s?.readyReplicas ?? 0) >= 1,
    // With OnDelete, the pod is current once the StatefulSet counts it as updated.
    updated: (s?.updatedReplicas ?? 0) >= 1 || (!!s?.updateRevision && s.updateRevision === s.currentRevision),
  };
}
