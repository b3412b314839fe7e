/** Condition bookkeeping shared by the three reconcilers (metav1.Condition semantics). */
import type { Condition } from '../api/v1alpha1/index.ts';

export interface ConditionInput {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

/** Sets a condition; lastTransitionTime moves only when the status does. */
export function setCondition(list: Condition[], c: ConditionInput, generation: number, now: string): Condition[] {
  const prev = list.find((x) => x.type === c.type);
  const next: Condition = {
    ...c,
    observedGeneration: generation,
    lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : now,
  };
  return [...list.filter((x) => x.type !== c.type), next].sort((a, b) => a.type.localeCompare(b.type));
}

export function setConditions(list: Condition[], cs: ConditionInput[], generation: number, now: string): Condition[] {
  return cs.reduce((acc, c) => setCondition(acc, c, generation, now), list);
}

/** Conditions whose status changed between two lists, for Events. */
export function transitions(before: Condition[], after: Condition[]): Condition[] {
  return after.filter((a) => before.find((b) => b.type === a.type)?.status !== a.status);
}

export const k8sTime = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
