/** Loads the committed TEST-ONLY fixtures in testdata/ for tests and benchmarks. */
import { readFileSync } from 'node:fs';
import { decodePreParams, type PreParams } from './preparams.ts';

export function fixturePreParams(): PreParams[] {
  const path = new URL('./testdata/preparams.fixture.json', import.meta.url);
  const file = JSON.parse(readFileSync(path, 'utf8')) as { items: unknown[] };
  return file.items.map((item) => decodePreParams(new TextEncoder().encode(JSON.stringify(item))));
}

export interface FixtureKey {
  readonly holders: readonly string[];
  readonly threshold: number;
  readonly publicKey: Uint8Array;
  readonly publicInfo: Uint8Array;
  readonly shares: ReadonlyMap<string, Uint8Array>;
}

/** Keys made by GG18 keygen from the fixture pre-params: "2of3" and "3of4". */
export function fixtureKey(name: '2of3' | '3of4'): FixtureKey {
  const path = new URL('./testdata/keys.fixture.json', import.meta.url);
  const file = JSON.parse(readFileSync(path, 'utf8')) as {
    keys: Record<
      string,
      { holders: string[]; threshold: number; publicKey: string; publicInfo: string; shares: Record<string, string> }
    >;
  };
  const k = file.keys[name]!;
  const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
  return {
    holders: k.holders,
    threshold: k.threshold,
    publicKey: hex(k.publicKey),
    publicInfo: hex(k.publicInfo),
    shares: new Map(Object.entries(k.shares).map(([id, s]) => [id, hex(s)])),
  };
}
