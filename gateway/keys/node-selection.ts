/** Which nodes take part in a session: pure functions over the coordinator's health snapshot. */
import type { NodeHealth } from '../coordinator/types.ts';

const usable = (n: NodeHealth) => n.reachable && !n.sealed;

/**
 * Keygen: the `count` healthiest usable nodes, fewest shares first (spreading keys), then lowest
 * latency; node id breaks ties so the choice is deterministic. Returned in node id order, which
 * becomes the holders' index order. Undefined when fewer than `count` are usable.
 */
export function selectKeygenNodes(
  health: readonly NodeHealth[],
  count: number,
  excluded: ReadonlySet<string> = new Set(),
): string[] | undefined {
  const ranked = health
    .filter((n) => usable(n) && !excluded.has(n.nodeId))
    .sort((a, b) => a.shareCount - b.shareCount || a.latencyMs - b.latencyMs || a.nodeId.localeCompare(b.nodeId));
  if (ranked.length < count) return undefined;
  return ranked
    .slice(0, count)
    .map((n) => n.nodeId)
    .sort();
}

/**
 * Signing: `threshold` usable holders, lowest latency first; undefined when too few are usable.
 * `excluded` nodes (repeated proven disruptors) are never chosen.
 */
export function selectSigners(
  health: readonly NodeHealth[],
  holders: readonly string[],
  threshold: number,
  excluded: ReadonlySet<string> = new Set(),
): string[] | undefined {
  const held = new Set(holders);
  const ranked = health
    .filter((n) => usable(n) && held.has(n.nodeId) && !excluded.has(n.nodeId))
    .sort((a, b) => a.latencyMs - b.latencyMs || a.nodeId.localeCompare(b.nodeId));
  if (ranked.length < threshold) return undefined;
  const chosen = new Set(ranked.slice(0, threshold).map((n) => n.nodeId));
  return holders.filter((h) => chosen.has(h));
}
