/**
 * Policy evaluation as one pure function (docs/policies-and-approvals.md "Evaluation"): every rule
 * of every enabled policy is tested; a rule fires when its operation, match and conditions all
 * hold. Deny wins over require_approval, which wins over allow; when no rule fires the request is
 * allowed. Velocity counts come in precomputed (velocityWindows says which), so the function
 * reads no clock, database or Redis.
 */
import type { GovernedOperation, Policy, PolicyAction, PolicyRule } from '../../common/api/policy-document.ts';

export interface Eip712Facts {
  /** chainId as the request gave it (number, decimal or 0x string), if any. */
  readonly chainId?: unknown;
  readonly verifyingContract?: string;
  readonly name?: string;
  readonly primaryType: string;
}

/** What a rule can look at: the operation, who asks, when, the key, and for signs the data. */
export interface GovernedRequest {
  readonly operation: GovernedOperation;
  readonly accessKey?: string;
  readonly nowMs: number;
  readonly key?: { readonly keyId: string; readonly label: string | null; readonly algorithm: string };
  readonly sign?: {
    readonly dataType: string;
    readonly eip712?: Eip712Facts;
    /** EIP-191 message as text (UTF-8, invalid bytes replaced). */
    readonly eip191Text?: string;
  };
}

export type VelocityScope = 'key' | 'access_key';
export interface VelocityWindow {
  readonly per: VelocityScope;
  readonly windowSeconds: number;
}
/** Signs in the window, counting this one: `${per}:${windowSeconds}` -> count. */
export type VelocityCounts = ReadonlyMap<string, number>;
export const velocityKey = (w: VelocityWindow) => `${w.per}:${w.windowSeconds}`;

export interface FiredRule {
  readonly policy_id: string;
  readonly policy_name: string;
  readonly rule_id: string;
  readonly action: PolicyAction;
}

export interface ApprovalRequirement {
  /** Where the requirement comes from: a rule, or the gateway's configured default. */
  readonly source: string;
  readonly required: number;
  /** Who may approve; null: any approver. */
  readonly approvers: readonly string[] | null;
}

export interface Decision {
  readonly action: PolicyAction;
  /** Every rule that fired, in policy and rule order. */
  readonly rules: readonly FiredRule[];
  /** One per require_approval rule that fired; all must be met. */
  readonly requirements: readonly ApprovalRequirement[];
}

const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const;

/** Glob match, `*` any run and `?` one character; greedy with one backtrack point, so O(n·m) at worst. */
export function globMatches(pattern: string, text: string): boolean {
  const p = [...pattern];
  const t = [...text];
  let pi = 0;
  let ti = 0;
  let star = -1;
  let mark = 0;
  while (ti < t.length) {
    if (pi < p.length && (p[pi] === '?' || p[pi] === t[ti])) {
      pi++;
      ti++;
    } else if (pi < p.length && p[pi] === '*') {
      star = pi++;
      mark = ti;
    } else if (star >= 0) {
      pi = star + 1;
      ti = ++mark;
    } else return false;
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

function minutesOf(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}

export function inTimeWindow(window: NonNullable<PolicyRule['match']['time_window']>, nowMs: number): boolean {
  const now = new Date(nowMs);
  if (window.days && !window.days.includes(DAY_NAMES[now.getUTCDay()]!)) return false;
  const minute = now.getUTCHours() * 60 + now.getUTCMinutes();
  const from = minutesOf(window.from);
  const to = minutesOf(window.to);
  return from <= to ? minute >= from && minute <= to : minute >= from || minute <= to;
}

function chainIdOf(value: unknown): bigint | undefined {
  try {
    if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
    if (typeof value === 'bigint') return value;
    if (typeof value === 'string' && /^(0x[0-9a-fA-F]+|\d+)$/.test(value)) return BigInt(value);
  } catch {
    return undefined;
  }
  return undefined;
}

type DomainEntry = NonNullable<PolicyRule['conditions']['eip712_domain_in']>[number];

function domainMatches(entry: DomainEntry, facts: Eip712Facts): boolean {
  if (entry.chain_id !== undefined && chainIdOf(facts.chainId) !== BigInt(entry.chain_id)) return false;
  if (
    entry.verifying_contract !== undefined &&
    facts.verifyingContract?.toLowerCase() !== entry.verifying_contract.toLowerCase()
  ) {
    return false;
  }
  if (entry.name !== undefined && facts.name !== entry.name) return false;
  return true;
}

/** True when every match field the rule gives holds for the request. */
export function ruleMatches(rule: PolicyRule, req: GovernedRequest): boolean {
  if (!rule.operations.includes(req.operation)) return false;
  const m = rule.match;
  const key = req.key;
  if (m.key_ids && !(key && m.key_ids.includes(key.keyId))) return false;
  if (m.labels && !(key?.label != null && m.labels.includes(key.label))) return false;
  if (m.label_prefixes && !(key?.label != null && m.label_prefixes.some((p) => key.label!.startsWith(p)))) return false;
  if (m.algorithms && !(key && (m.algorithms as readonly string[]).includes(key.algorithm))) return false;
  if (m.data_types && !(req.sign && (m.data_types as readonly string[]).includes(req.sign.dataType))) return false;
  if (m.access_keys && !(req.accessKey !== undefined && m.access_keys.includes(req.accessKey))) return false;
  if (m.time_window && !inTimeWindow(m.time_window, req.nowMs)) return false;
  return true;
}

/** The velocity windows the matching rules need counted for this request. */
export function velocityWindows(policies: readonly Policy[], req: GovernedRequest): VelocityWindow[] {
  const out = new Map<string, VelocityWindow>();
  for (const policy of policies) {
    if (!policy.document.enabled) continue;
    for (const rule of policy.document.rules) {
      const v = rule.conditions.velocity;
      if (!v || !ruleMatches(rule, req)) continue;
      const w = { per: v.per, windowSeconds: v.window_seconds };
      out.set(velocityKey(w), w);
    }
  }
  return [...out.values()];
}

/** True when every condition the rule gives holds. */
export function conditionsHold(rule: PolicyRule, req: GovernedRequest, counts: VelocityCounts): boolean {
  const c = rule.conditions;
  if (c.velocity) {
    const count = counts.get(velocityKey({ per: c.velocity.per, windowSeconds: c.velocity.window_seconds }));
    if (count === undefined)
      throw new Error(`velocity count for ${c.velocity.per}/${c.velocity.window_seconds}s missing`);
    if (count <= c.velocity.max) return false;
  }
  const typed = req.sign?.eip712;
  if (c.eip712_domain_in && !(typed && c.eip712_domain_in.some((d) => domainMatches(d, typed)))) return false;
  if (c.eip712_domain_not_in && !(typed && !c.eip712_domain_not_in.some((d) => domainMatches(d, typed)))) return false;
  if (c.eip712_primary_type_in && !(typed && c.eip712_primary_type_in.includes(typed.primaryType))) return false;
  if (c.eip712_primary_type_not_in && !(typed && !c.eip712_primary_type_not_in.includes(typed.primaryType))) {
    return false;
  }
  const text = req.sign?.eip191Text;
  if (c.eip191_message_matches && !(text !== undefined && c.eip191_message_matches.some((g) => globMatches(g, text)))) {
    return false;
  }
  if (
    c.eip191_message_not_matches &&
    !(text !== undefined && !c.eip191_message_not_matches.some((g) => globMatches(g, text)))
  ) {
    return false;
  }
  return true;
}

const RANK: Record<PolicyAction, number> = { allow: 0, require_approval: 1, deny: 2 };

/** The decision for one request under every enabled policy. */
export function evaluate(policies: readonly Policy[], req: GovernedRequest, counts: VelocityCounts): Decision {
  const rules: FiredRule[] = [];
  const requirements: ApprovalRequirement[] = [];
  let action: PolicyAction = 'allow';
  for (const policy of policies) {
    if (!policy.document.enabled) continue;
    for (const rule of policy.document.rules) {
      if (!ruleMatches(rule, req) || !conditionsHold(rule, req, counts)) continue;
      rules.push({
        policy_id: policy.policy_id,
        policy_name: policy.document.name,
        rule_id: rule.id,
        action: rule.action,
      });
      if (RANK[rule.action] > RANK[action]) action = rule.action;
      if (rule.action === 'require_approval' && rule.approval) {
        requirements.push({
          source: `${policy.document.name}/${rule.id}`,
          required: rule.approval.required,
          approvers: rule.approval.approvers ?? null,
        });
      }
    }
  }
  return { action, rules, requirements: action === 'require_approval' ? requirements : [] };
}
