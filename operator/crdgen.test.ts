import { test } from 'vitest';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { RESOURCES } from './api/v1alpha1/index.ts';
import { buildCrd, crdFileName, renderCrd, toStructural } from './crdgen.ts';

const root = new URL('..', import.meta.url).pathname;

test('checked-in CRDs match the zod schemas (run `tsx operator/crdgen.ts` after a schema change)', () => {
  for (const r of RESOURCES) {
    const onDisk = readFileSync(join(root, 'crds', crdFileName(r)), 'utf8');
    assert.equal(onDisk, renderCrd(r), `crds/${crdFileName(r)} drifted from operator/api/v1alpha1`);
  }
});

test('the chart ships the same CRDs', () => {
  for (const r of RESOURCES) {
    const inChart = readFileSync(join(root, 'charts/custos/crds', crdFileName(r)), 'utf8');
    assert.equal(inChart, renderCrd(r), `charts/custos/crds/${crdFileName(r)} drifted`);
  }
});

/** Every node of a structural schema has a type, except int-or-string and preserve-unknown nodes. */
function assertStructural(node: Record<string, unknown>, path: string): void {
  if (node['x-kubernetes-int-or-string'] !== true) assert.ok(typeof node.type === 'string', `${path} has no type`);
  for (const key of ['$schema', 'const', 'propertyNames', 'nullable']) assert.ok(!(key in node), `${path} has ${key}`);
  const props = (node.properties ?? {}) as Record<string, Record<string, unknown>>;
  for (const [k, v] of Object.entries(props)) assertStructural(v, `${path}.${k}`);
  if (node.items) assertStructural(node.items as Record<string, unknown>, `${path}[]`);
  if (typeof node.additionalProperties === 'object')
    assertStructural(node.additionalProperties as Record<string, unknown>, `${path}{}`);
}

test('generated schemas are structural, with status subresource and printer columns', () => {
  for (const r of RESOURCES) {
    const crd = parse(renderCrd(r)) as unknown as { spec: { versions: Array<Record<string, unknown>> } };
    const v = crd.spec.versions[0]!;
    assert.deepEqual(v.subresources, { status: {} });
    assert.ok((v.additionalPrinterColumns as unknown[]).length >= 3);
    const schema = (v.schema as { openAPIV3Schema: Record<string, unknown> }).openAPIV3Schema;
    assertStructural(schema, r.kind);
  }
});

test('KmsCluster carries the quorum CEL rules and defaults', () => {
  const crd = buildCrd(RESOURCES[0]!) as never as {
    spec: { versions: [{ schema: { openAPIV3Schema: { properties: { spec: Record<string, never> } } } }] };
  };
  const spec = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec as unknown as {
    'x-kubernetes-validations': { rule: string }[];
    properties: { nodes: { default: number } };
  };
  const rules = spec['x-kubernetes-validations'].map((r) => r.rule);
  assert.ok(rules.includes('self.keyDefaults.threshold <= self.keyDefaults.shardCount'));
  assert.ok(rules.includes('self.keyDefaults.shardCount <= self.nodes'));
  assert.equal(spec.properties.nodes.default, 4);
});

test('toStructural rewrites const, drops propertyNames and collapses int-or-string', () => {
  assert.deepEqual(toStructural({ type: 'string', const: 'ECC' }), { type: 'string', enum: ['ECC'] });
  assert.deepEqual(toStructural({ type: 'object', propertyNames: { type: 'string' }, additionalProperties: false }), {
    type: 'object',
  });
  assert.deepEqual(
    toStructural({
      'x-kubernetes-int-or-string': true,
      anyOf: [{ type: 'integer', minimum: 0 }, { type: 'string' }],
      default: '1Gi',
    }),
    { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }], default: '1Gi' },
  );
});
