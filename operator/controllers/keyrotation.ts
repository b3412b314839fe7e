/**
 * Reconciles a KeyRotation: validates the key reference and schedule, works out when the next run
 * is due, and runs it. A Refresh run asks the cluster's gateway for a proactive share refresh
 * (POST /api/v1/keys/{key_id}/refresh) and follows its operation until it SUCCEEDED or FAILED,
 * recording the outcome, share version and reason in status. Reshare has no gateway API yet, so a
 * due Reshare run is recorded as Unsupported with a clear condition instead of pretending to run.
 */
import { CronExpressionParser } from 'cron-parser';
import type { Operation } from '../../common/api/schemas.ts';
import {
  KeyRotationSpecSchema,
  type KeyRotation,
  type KeyRotationStatus,
  type KmsCluster,
  type ManagedKey,
} from '../api/v1alpha1/index.ts';
import { GatewayError } from '../gateway-client.ts';
import { k8sTime, setCondition, type ConditionInput } from './conditions.ts';
import type { Context } from './context.ts';
import { writeStatus } from './kmscluster.ts';
import { gatewayFor } from './managedkey.ts';

/** Next run at or after `from` for a schedule, or an error message for an invalid one. */
export function nextRun(schedule: string, from: Date): Date | string {
  try {
    return CronExpressionParser.parse(schedule, { currentDate: from, tz: 'UTC' }).next().toDate();
  } catch (err) {
    return `invalid schedule "${schedule}": ${(err as Error).message}`;
  }
}

/** When the rotation is next due: a one-shot rotation is due until it has run once. */
export function nextDue(r: KeyRotation, now: Date): Date | undefined | string {
  const last = r.status?.lastRunTime ? new Date(r.status.lastRunTime) : undefined;
  if (!r.spec.schedule) return last ? undefined : now;
  return nextRun(r.spec.schedule, last ?? new Date(r.metadata.creationTimestamp ?? now));
}

export const UNSUPPORTED_MESSAGE =
  'the gateway has no re-share API yet; the rotation is validated and scheduled but cannot run';

/** How often a running refresh operation is polled. */
const POLL_MS = 5_000;

/** The status and condition a finished (or still running) operation maps to; pure. */
export function outcomeOf(
  op: Operation,
): { status: Partial<KeyRotationStatus>; condition: ConditionInput } | undefined {
  if (op.status === 'SUCCEEDED') {
    return {
      status: {
        lastOutcome: 'Succeeded',
        shareVersion: op.to_version,
        lastMessage: `shares at version ${op.to_version}`,
      },
      condition: {
        type: 'Ready',
        status: 'True',
        reason: 'Succeeded',
        message: `refresh ${op.operation_id} succeeded: same public key, shares at version ${op.to_version}`,
      },
    };
  }
  if (op.status === 'FAILED') {
    const reason = op.reason ?? 'no reason given';
    return {
      status: { lastOutcome: 'Failed', shareVersion: op.from_version, lastMessage: reason },
      condition: {
        type: 'Ready',
        status: 'False',
        reason: 'RefreshFailed',
        message: `refresh ${op.operation_id} failed, the old shares stay in use: ${reason}`,
      },
    };
  }
  return undefined;
}

export async function reconcileKeyRotation(
  ctx: Context,
  ns: string,
  name: string,
): Promise<{ requeueAfterMs?: number } | void> {
  const raw = ctx.informers.keyrotations.get(name, ns) as unknown as KeyRotation | undefined;
  if (!raw || raw.metadata.deletionTimestamp) return;
  const r: KeyRotation = { ...raw, spec: KeyRotationSpecSchema.parse(raw.spec) };
  const now = new Date();
  const gen = raw.metadata.generation ?? 0;
  const report = async (extra: Partial<KeyRotationStatus>, cond: ConditionInput) => {
    const conditions = setCondition(raw.status?.conditions ?? [], cond, gen, k8sTime(now));
    await writeStatus(ctx, raw, { ...raw.status, ...extra, observedGeneration: gen, conditions });
  };
  const key = ctx.informers.managedkeys.get(r.spec.keyRef.name, ns) as unknown as ManagedKey | undefined;
  const cluster = key
    ? (ctx.informers.kmsclusters.get(key.spec.clusterRef.name, ns) as unknown as KmsCluster | undefined)
    : undefined;
  if (!key?.status?.keyId || !cluster) {
    await report(
      {},
      {
        type: 'Ready',
        status: 'False',
        reason: 'KeyNotReady',
        message: `ManagedKey ${r.spec.keyRef.name} does not exist or has no key yet`,
      },
    );
    return { requeueAfterMs: 60_000 };
  }
  const keyId = key.status.keyId;

  // A run in flight: follow its operation until it ends, then record the outcome.
  if (raw.status?.operationId) {
    let op: Operation;
    try {
      op = await (await gatewayFor(ctx, cluster)).operation(raw.status.operationId);
    } catch (err) {
      ctx.log.warn({ rotation: name, err: (err as Error).message }, 'could not read the refresh operation');
      return { requeueAfterMs: POLL_MS };
    }
    const outcome = outcomeOf(op);
    if (!outcome) return { requeueAfterMs: POLL_MS };
    await report({ ...outcome.status, operationId: undefined }, outcome.condition);
    await ctx.events(
      raw as never,
      op.status === 'SUCCEEDED' ? 'Normal' : 'Warning',
      op.status === 'SUCCEEDED' ? 'Refreshed' : 'RefreshFailed',
      `${keyId}: ${outcome.condition.message}`,
    );
    const following = r.spec.schedule ? nextRun(r.spec.schedule, now) : undefined;
    return following instanceof Date
      ? { requeueAfterMs: Math.max(1000, following.getTime() - now.getTime()) }
      : undefined;
  }

  const due = nextDue(r, now);
  if (typeof due === 'string') {
    await report({}, { type: 'Ready', status: 'False', reason: 'InvalidSchedule', message: due });
    return;
  }
  if (r.spec.suspend) {
    await report({}, { type: 'Ready', status: 'False', reason: 'Suspended', message: 'spec.suspend is true' });
    return;
  }
  if (due && due.getTime() <= now.getTime()) {
    const following = r.spec.schedule ? nextRun(r.spec.schedule, now) : undefined;
    const timing = {
      lastRunTime: k8sTime(now),
      ...(following instanceof Date ? { nextRunTime: k8sTime(following) } : {}),
    };
    if (r.spec.type === 'Reshare') {
      await report(
        { ...timing, lastOutcome: 'Unsupported', lastMessage: UNSUPPORTED_MESSAGE },
        { type: 'Ready', status: 'False', reason: 'Unsupported', message: `${r.spec.type}: ${UNSUPPORTED_MESSAGE}` },
      );
      await ctx.events(raw as never, 'Warning', 'Unsupported', `${r.spec.type} of ${keyId}: ${UNSUPPORTED_MESSAGE}`);
      return following instanceof Date
        ? { requeueAfterMs: Math.max(1000, following.getTime() - now.getTime()) }
        : undefined;
    }
    let op: Operation;
    try {
      op = await (await gatewayFor(ctx, cluster)).refresh(keyId);
    } catch (err) {
      // A refusal (frozen, archived, a refresh already running) is this run's outcome.
      const message =
        err instanceof GatewayError ? `${err.code}: ${err.message}` : `gateway unreachable: ${(err as Error).message}`;
      await report(
        { ...timing, lastOutcome: 'Failed', lastMessage: message },
        { type: 'Ready', status: 'False', reason: 'RefreshFailed', message },
      );
      await ctx.events(raw as never, 'Warning', 'RefreshFailed', `${keyId}: ${message}`);
      return following instanceof Date
        ? { requeueAfterMs: Math.max(1000, following.getTime() - now.getTime()) }
        : undefined;
    }
    await report(
      { ...timing, operationId: op.operation_id },
      { type: 'Ready', status: 'True', reason: 'Running', message: `refresh ${op.operation_id} running` },
    );
    return { requeueAfterMs: POLL_MS };
  }
  if (due) {
    // An earlier Unsupported or Failed run stays visible between runs.
    const cond: ConditionInput =
      raw.status?.lastOutcome === 'Unsupported' || raw.status?.lastOutcome === 'Failed'
        ? {
            type: 'Ready',
            status: 'False',
            reason: raw.status.lastOutcome === 'Failed' ? 'RefreshFailed' : 'Unsupported',
            message: `${r.spec.type}: ${raw.status.lastMessage ?? UNSUPPORTED_MESSAGE}; next attempt at ${k8sTime(due)}`,
          }
        : { type: 'Ready', status: 'True', reason: 'Scheduled', message: `next ${r.spec.type} at ${k8sTime(due)}` };
    await report({ nextRunTime: k8sTime(due) }, cond);
    return { requeueAfterMs: Math.min(due.getTime() - now.getTime() + 500, 3_600_000) };
  }
}
