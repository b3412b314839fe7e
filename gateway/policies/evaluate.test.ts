import assert from 'node:assert/strict';
import fc from 'fast-check';
import { describe, test } from 'vitest';
import { PolicyDocumentSchema, type Policy, type PolicyDocumentInput } from '../../common/api/policy-document.ts';
import { evaluate, globMatches, inTimeWindow, velocityKey, velocityWindows, type GovernedRequest } from './evaluate.ts';

const KEY = { keyId: `key_${'ab'.repeat(16)}`, label: 'treasury/hot', algorithm: 'GG18' };
const NOON_MONDAY = Date.parse('2026-11-30T12:00:00Z');

function policy(doc: PolicyDocumentInput, id = 'pol_1'): Policy {
  return {
    policy_id: id,
    version: 1,
    document: PolicyDocumentSchema.parse(doc),
    created_at: '',
    updated_at: '',
  };
}

const signReq = (over: Partial<GovernedRequest> = {}): GovernedRequest => ({
  operation: 'KEY_SIGN',
  accessKey: 'AK_signer',
  nowMs: NOON_MONDAY,
  key: KEY,
  sign: { dataType: 'HASH' },
  ...over,
});

const noCounts = new Map<string, number>();

describe('policy evaluation', () => {
  test('no policy or no firing rule: allow with no rules', () => {
    assert.deepEqual(evaluate([], signReq(), noCounts), { action: 'allow', rules: [], requirements: [] });
    const p = policy({ name: 'p', rules: [{ id: 'r', match: { labels: ['other'] }, action: 'deny' }] });
    assert.equal(evaluate([p], signReq(), noCounts).action, 'allow');
  });

  test('deny wins over approval, approval over allow, whatever the order; every fired rule is reported', () => {
    const allow = { id: 'a', action: 'allow' as const };
    const approve = { id: 'b', action: 'require_approval' as const, approval: { required: 2 } };
    const deny = { id: 'c', match: { label_prefixes: ['treasury/'] }, action: 'deny' as const };
    fc.assert(
      fc.property(fc.shuffledSubarray([allow, approve, deny], { minLength: 1 }), (rules) => {
        const d = evaluate([policy({ name: 'p', rules })], signReq(), noCounts);
        const expected = rules.some((r) => r.action === 'deny')
          ? 'deny'
          : rules.some((r) => r.action === 'require_approval')
            ? 'require_approval'
            : 'allow';
        assert.equal(d.action, expected);
        assert.deepEqual(
          d.rules.map((r) => r.rule_id),
          rules.map((r) => r.id),
        );
        assert.equal(d.requirements.length, expected === 'require_approval' ? 1 : 0);
      }),
    );
  });

  test('disabled policies never fire', () => {
    const p = policy({ name: 'p', enabled: false, rules: [{ id: 'r', action: 'deny' }] });
    assert.equal(evaluate([p], signReq(), noCounts).action, 'allow');
  });

  test('match fields are ANDed, values ORed; rules apply only to their operations', () => {
    const p = policy({
      name: 'p',
      rules: [
        {
          id: 'r',
          match: { algorithms: ['GG18'], data_types: ['EIP712', 'HASH'], access_keys: ['AK_signer'] },
          action: 'deny',
        },
      ],
    });
    assert.equal(evaluate([p], signReq(), noCounts).action, 'deny');
    assert.equal(evaluate([p], signReq({ accessKey: 'AK_other' }), noCounts).action, 'allow');
    assert.equal(evaluate([p], signReq({ sign: { dataType: 'EIP191' } }), noCounts).action, 'allow');
    assert.equal(evaluate([p], { ...signReq(), operation: 'KEY_STATUS_CHANGE' }, noCounts).action, 'allow');
  });

  test('time windows in UTC, with days and wrap past midnight', () => {
    assert.equal(inTimeWindow({ from: '09:00', to: '17:00' }, NOON_MONDAY), true);
    assert.equal(inTimeWindow({ from: '13:00', to: '17:00' }, NOON_MONDAY), false);
    assert.equal(inTimeWindow({ from: '22:00', to: '06:00' }, Date.parse('2026-11-30T23:30:00Z')), true);
    assert.equal(inTimeWindow({ from: '22:00', to: '06:00' }, NOON_MONDAY), false);
    assert.equal(inTimeWindow({ days: ['SAT', 'SUN'], from: '00:00', to: '23:59' }, NOON_MONDAY), false);
    assert.equal(inTimeWindow({ days: ['MON'], from: '00:00', to: '23:59' }, NOON_MONDAY), true);
  });

  test('velocity: fires from the (max+1)th sign in the window; windows asked only for matching rules', () => {
    const p = policy({
      name: 'p',
      rules: [
        { id: 'v', conditions: { velocity: { per: 'key', window_seconds: 60, max: 2 } }, action: 'deny' },
        {
          id: 'other',
          match: { labels: ['cold'] },
          conditions: { velocity: { per: 'access_key', window_seconds: 5, max: 1 } },
          action: 'deny',
        },
      ],
    });
    const windows = velocityWindows([p], signReq());
    assert.deepEqual(windows, [{ per: 'key', windowSeconds: 60 }]);
    const at = (n: number) => new Map([[velocityKey(windows[0]!), n]]);
    assert.equal(evaluate([p], signReq(), at(2)).action, 'allow');
    assert.equal(evaluate([p], signReq(), at(3)).action, 'deny');
    assert.throws(() => evaluate([p], signReq(), noCounts), /velocity count/);
  });

  test('EIP-712 domain and primary type allow-lists', () => {
    const contract = '0x' + 'Cc'.repeat(20);
    const p = policy({
      name: 'p',
      rules: [
        {
          id: 'domain',
          match: { data_types: ['EIP712'] },
          conditions: { eip712_domain_not_in: [{ chain_id: 1, verifying_contract: contract, name: 'Permit2' }] },
          action: 'deny',
        },
        {
          id: 'type',
          match: { data_types: ['EIP712'] },
          conditions: { eip712_primary_type_not_in: ['PermitSingle'] },
          action: 'deny',
        },
      ],
    });
    const typed = (chainId: unknown, name: string, primaryType = 'PermitSingle', vc = contract.toLowerCase()) =>
      signReq({ sign: { dataType: 'EIP712', eip712: { chainId, verifyingContract: vc, name, primaryType } } });
    assert.equal(evaluate([p], typed(1, 'Permit2'), noCounts).action, 'allow');
    assert.equal(evaluate([p], typed('0x1', 'Permit2'), noCounts).action, 'allow', 'hex chainId is the same chain');
    assert.equal(evaluate([p], typed(5, 'Permit2'), noCounts).action, 'deny');
    assert.equal(evaluate([p], typed(1, 'Evil'), noCounts).action, 'deny');
    assert.equal(evaluate([p], typed(1, 'Permit2', 'Transfer'), noCounts).rules[0]!.rule_id, 'type');
    assert.equal(evaluate([p], typed(1, 'Permit2', 'PermitSingle', '0x' + '00'.repeat(20)), noCounts).action, 'deny');
    // Not EIP-712 at all: the EIP-712 conditions do not hold.
    assert.equal(evaluate([p], signReq(), noCounts).action, 'allow');
  });

  test('EIP-191 message globs', () => {
    const p = policy({
      name: 'p',
      rules: [
        {
          id: 'r',
          conditions: { eip191_message_matches: ['*transfer*'] },
          action: 'require_approval',
          approval: { required: 2, approvers: ['a', 'b', 'c'] },
        },
      ],
    });
    const msg = (t: string) => signReq({ sign: { dataType: 'EIP191', eip191Text: t } });
    const d = evaluate([p], msg('please transfer 5 ETH'), noCounts);
    assert.equal(d.action, 'require_approval');
    assert.deepEqual(d.requirements, [{ source: 'p/r', required: 2, approvers: ['a', 'b', 'c'] }]);
    assert.equal(evaluate([p], msg('login nonce 1234'), noCounts).action, 'allow');
  });

  test('glob matching agrees with an equivalent regular expression (property)', () => {
    const alphabet = fc.constantFrom('a', 'b', '*', '?');
    fc.assert(
      fc.property(
        fc.string({ unit: alphabet, maxLength: 8 }),
        fc.string({ unit: fc.constantFrom('a', 'b'), maxLength: 12 }),
        (glob, text) => {
          const re = new RegExp(`^${glob.replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's');
          assert.equal(globMatches(glob, text), re.test(text));
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('a pathological glob stays fast (no backtracking blow-up)', () => {
    const started = performance.now();
    assert.equal(globMatches('*a*a*a*a*a*a*a*a*b', 'a'.repeat(5000)), false);
    assert.ok(performance.now() - started < 2000);
  });
});

describe('policy documents (zod)', () => {
  test('refuses contradictions with a named field', () => {
    const bad: [PolicyDocumentInput, RegExp][] = [
      [{ name: 'p', rules: [{ id: 'r', action: 'require_approval' }] }, /approval/],
      [{ name: 'p', rules: [{ id: 'r', action: 'deny', approval: { required: 1 } }] }, /approval/],
      [{ name: 'p', rules: [{ id: 'r', operations: ['POLICY_CHANGE'], action: 'deny' }] }, /cannot deny/],
      [
        { name: 'p', rules: [{ id: 'r', operations: ['POLICY_CHANGE'], match: { labels: ['x'] }, action: 'allow' }] },
        /labels/,
      ],
      [
        {
          name: 'p',
          rules: [
            {
              id: 'r',
              operations: ['KEY_DESTROY'],
              conditions: { velocity: { per: 'key', window_seconds: 1, max: 1 } },
              action: 'deny',
            },
          ],
        },
        /KEY_SIGN rules only/,
      ],
      [
        {
          name: 'p',
          rules: [{ id: 'r', action: 'require_approval', approval: { required: 3, approvers: ['a', 'b'] } }],
        },
        /required/,
      ],
      [
        {
          name: 'p',
          rules: [
            { id: 'r', action: 'allow' },
            { id: 'r', action: 'deny' },
          ],
        },
        /distinct/,
      ],
    ];
    for (const [doc, why] of bad) {
      const parsed = PolicyDocumentSchema.safeParse(doc);
      assert.equal(parsed.success, false, JSON.stringify(doc));
      assert.match(JSON.stringify(parsed.error!.issues), why);
    }
  });
});
