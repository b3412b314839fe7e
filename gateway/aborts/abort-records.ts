/**
 * Every failed MPC session, with who — if anyone — it is proven on (docs/security.md,
 * "Identifiable abort"): recorded per key and signer set and counted in metrics (the caller's
 * failure audit entry carries the same attribution). A node
 * pinned with `disruptionLimit` aborts (as proven culprit or false accuser) within the window is
 * no longer chosen for sessions until the window passes.
 */
import { MpcSessionError } from '../coordinator/types.ts';
import { nowIso, type Db } from '../db/index.ts';
import type { GatewayMetrics } from '../metrics.ts';

export type AbortOutcome = 'guilty' | 'refuted' | 'unattributed' | 'unavailable' | 'timeout';

export interface AbortRecord {
  readonly outcome: AbortOutcome;
  /** The proven culprit, the false accuser, or the node that went away. */
  readonly node?: string;
}

/** What an abort is pinned on; pure. */
export function classifyAbort(err: unknown): AbortRecord {
  if (!(err instanceof MpcSessionError)) return { outcome: 'unattributed' };
  if (err.kind === 'unavailable' || err.kind === 'timeout') return { outcome: err.kind, node: err.culprit };
  if (err.kind !== 'abort') return { outcome: 'unattributed' };
  const a = err.attribution;
  return a.outcome === 'unattributed' ? { outcome: 'unattributed' } : { outcome: a.outcome, node: a.node };
}

export interface AbortSummary {
  signers: string[];
  guilty: number;
  refuted: number;
  unattributed: number;
  unavailable: number;
  timeout: number;
}

export interface AbortRecords {
  record(input: {
    keyId: string;
    operation: 'KEY_GENERATE' | 'KEY_SIGN';
    algo: string;
    nodes: readonly string[];
    err: unknown;
  }): Promise<AbortRecord & { signers: string; sessionId: string }>;
  /** Nodes not to choose now: pinned with too many aborts within the window. */
  disruptors(): Promise<Set<string>>;
  /** Per signer set, the key's aborts by outcome. */
  summary(keyId: string): Promise<AbortSummary[]>;
}

export function createAbortRecords(opts: {
  db: Db;
  metrics: GatewayMetrics;
  disruptionLimit?: number;
  windowMs?: number;
  now?: () => number;
}): AbortRecords {
  const { db, metrics } = opts;
  const limit = opts.disruptionLimit ?? 3;
  const windowMs = opts.windowMs ?? 24 * 3600_000;
  const now = opts.now ?? Date.now;

  return {
    async record(input) {
      const rec = classifyAbort(input.err);
      const err = input.err instanceof MpcSessionError ? input.err : undefined;
      const signers = [...(err?.session?.parties ?? input.nodes)].sort().join(',');
      const reason = input.err instanceof Error ? input.err.message : String(input.err);
      const sessionId = err?.session && err.session.id !== 'combine' ? err.session.id : `gw_${crypto.randomUUID()}`;
      await db
        .insertInto('mpc_aborts')
        .values({
          session_id: sessionId,
          key_id: input.keyId,
          operation: input.operation,
          signers,
          outcome: rec.outcome,
          node_id: rec.node ?? null,
          reason: reason.slice(0, 2000),
          created_at: nowIso(),
        })
        .execute();
      metrics.mpcAborts.inc({ operation: input.operation, algo: input.algo, outcome: rec.outcome });
      if (rec.node && (rec.outcome === 'guilty' || rec.outcome === 'refuted')) {
        metrics.nodeDisruptions.inc({ node: rec.node, outcome: rec.outcome });
      }
      return { ...rec, signers, sessionId };
    },

    async disruptors() {
      const since = new Date(now() - windowMs).toISOString();
      const rows = await db
        .selectFrom('mpc_aborts')
        .select(['node_id', (eb) => eb.fn.countAll<number>().as('n')])
        .where('outcome', 'in', ['guilty', 'refuted'])
        .where('created_at', '>=', since)
        .where('node_id', 'is not', null)
        .groupBy('node_id')
        .execute();
      return new Set(rows.filter((r) => Number(r.n) >= limit).map((r) => r.node_id!));
    },

    async summary(keyId) {
      const rows = await db
        .selectFrom('mpc_aborts')
        .select(['signers', 'outcome', (eb) => eb.fn.countAll<number>().as('n')])
        .where('key_id', '=', keyId)
        .groupBy(['signers', 'outcome'])
        .execute();
      const bySet = new Map<string, AbortSummary>();
      for (const r of rows) {
        const entry =
          bySet.get(r.signers) ??
          ({
            signers: r.signers.split(','),
            guilty: 0,
            refuted: 0,
            unattributed: 0,
            unavailable: 0,
            timeout: 0,
          } as AbortSummary);
        entry[r.outcome as AbortOutcome] += Number(r.n);
        bySet.set(r.signers, entry);
      }
      return [...bySet.values()];
    },
  };
}
