/**
 * Reconciles a KeyRotation: validates the key reference and schedule, works out when the next run
 * is due, and runs it. The gateway has no share refresh or re-share API yet, so a due run is
 * recorded with outcome Unsupported and a clear condition instead of pretending to rotate.
 */
import { CronExpressionParser } from 'cron-parser';
import {
  KeyRotationSpecSchema,
  type KeyRotation,
  type KeyRotationStatus,
  type ManagedKey,
} from '../api/v1alpha1/index.ts';
import { k8sTime, setCondition, type ConditionInput } from './conditions.ts';
import type { Context } from './context.ts';
import { writeStatus } from './kmscluster.ts';

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
  'the gateway has no share refresh/re-share API yet; the rotation is validated and scheduled but cannot run';

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
  if (!key?.status?.keyId) {
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
    await report(
      {
        lastRunTime: k8sTime(now),
        lastOutcome: 'Unsupported',
        ...(following instanceof Date ? { nextRunTime: k8sTime(following) } : {}),
      },
      { type: 'Ready', status: 'False', reason: 'Unsupported', message: `${r.spec.type}: ${UNSUPPORTED_MESSAGE}` },
    );
    await ctx.events(
      raw as never,
      'Warning',
      'Unsupported',
      `${r.spec.type} of ${key.status.keyId}: ${UNSUPPORTED_MESSAGE}`,
    );
    return following instanceof Date
      ? { requeueAfterMs: Math.max(1000, following.getTime() - now.getTime()) }
      : undefined;
  }
  if (due) {
    // Until the gateway can rotate, an earlier Unsupported run stays visible between runs.
    const cond: ConditionInput =
      raw.status?.lastOutcome === 'Unsupported'
        ? {
            type: 'Ready',
            status: 'False',
            reason: 'Unsupported',
            message: `${r.spec.type}: ${UNSUPPORTED_MESSAGE}; next attempt at ${k8sTime(due)}`,
          }
        : { type: 'Ready', status: 'True', reason: 'Scheduled', message: `next ${r.spec.type} at ${k8sTime(due)}` };
    await report({ nextRunTime: k8sTime(due) }, cond);
    return { requeueAfterMs: Math.min(due.getTime() - now.getTime() + 500, 3_600_000) };
  }
}
