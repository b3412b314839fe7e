/** Test helpers shared by the protocol test files (not part of the build). */
import assert from 'node:assert/strict';
import { runParties } from '../frost/in-process-router.ts';
import { ProtocolAbort, type KeygenOutput, type PartyId, type ThresholdScheme } from '../types.ts';

/** Asserts that `run` aborts the protocol naming `culprit` (undefined: nobody can be blamed). */
export function assertAbort(run: () => unknown, culprit: PartyId | undefined, message?: RegExp): void {
  assert.throws(run, (e: unknown) => {
    assert.ok(e instanceof ProtocolAbort, `expected ProtocolAbort, got ${String(e)}`);
    assert.equal(e.culprit, culprit, e.message);
    if (message) assert.match(e.message, message);
    return true;
  });
}

/** Every k-element subset of `items`, in order. */
export function combinations<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  return items.flatMap((x, i) => combinations(items.slice(i + 1), k - 1).map((rest) => [x, ...rest]));
}

/** An honest in-process DKG of `scheme` among `holders`. */
export function schemeKeygen(
  scheme: ThresholdScheme,
  holders: PartyId[],
  threshold: number,
): Map<PartyId, KeygenOutput> {
  return runParties(
    new Map(
      holders.map((self) => [
        self,
        scheme.keygen({ sessionId: 'kg', keyId: 'key_test', self, parties: holders, holders, threshold }),
      ]),
    ),
  );
}
