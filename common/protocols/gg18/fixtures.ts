/** Loads the committed TEST-ONLY pre-params (testdata/preparams.fixture.json) for tests and benchmarks. */
import { readFileSync } from 'node:fs';
import { decodePreParams, type PreParams } from './preparams.ts';

export function fixturePreParams(): PreParams[] {
  const path = new URL('./testdata/preparams.fixture.json', import.meta.url);
  const file = JSON.parse(readFileSync(path, 'utf8')) as { items: unknown[] };
  return file.items.map((item) => decodePreParams(new TextEncoder().encode(JSON.stringify(item))));
}
