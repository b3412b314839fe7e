/**
 * kubeconform cannot download schemas here, so they are generated offline from a real API server:
 * its OpenAPI v3 documents (built-in kinds plus every installed CRD, ours and cert-manager's)
 * become one standalone JSON schema per kind, at <group>/<kind>_<version>.json (core: v1/...).
 * Objects that list their properties get additionalProperties: false, so a misspelt field fails.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ControlPlane } from '../../kube/support/control-plane.ts';

type Schema = Record<string, unknown>;

/** Rewrites OpenAPI component refs to JSON-schema definitions and closes listed objects. */
export function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (!node || typeof node !== 'object') return node;
  const out: Schema = {};
  for (const [k, v] of Object.entries(node as Schema)) {
    if (k === '$ref' && typeof v === 'string') out[k] = v.replace('#/components/schemas/', '#/definitions/');
    else if (k === 'enum' || k === 'default' || k === 'example') out[k] = v;
    // Keys of these maps are names (a property may be called "default"), values are schemas.
    else if ((k === 'properties' || k === 'definitions') && v && typeof v === 'object')
      out[k] = Object.fromEntries(Object.entries(v as Schema).map(([n, x]) => [n, toJsonSchema(x)]));
    else out[k] = toJsonSchema(v);
  }
  // allOf: [{$ref}] is how OpenAPI v3 attaches a description to a reference.
  if (Array.isArray(out.allOf) && out.allOf.length === 1 && !out.type) {
    const only = out.allOf[0] as Schema;
    delete out.allOf;
    Object.assign(out, only);
  }
  if (out.properties && out.additionalProperties === undefined && !out['x-kubernetes-preserve-unknown-fields'])
    out.additionalProperties = false;
  if (out.nullable === true && typeof out.type === 'string') {
    out.type = [out.type, 'null'];
    delete out.nullable;
  }
  // int-or-string has no type in OpenAPI; JSON schema needs it spelled out.
  if (out.format === 'int-or-string' || out['x-kubernetes-int-or-string'] === true) {
    out.type = ['integer', 'string'];
    delete out.anyOf;
  }
  return out;
}

export async function exportSchemas(cp: ControlPlane, dir: string): Promise<number> {
  const index = (await cp.get('/openapi/v3')).body as { paths: Record<string, { serverRelativeURL: string }> };
  let count = 0;
  for (const [path, ref] of Object.entries(index.paths)) {
    if (!/^(api\/v1|apis\/[^/]+\/[^/]+)$/.test(path)) continue;
    const doc = (await cp.get(ref.serverRelativeURL)).body as { components?: { schemas?: Record<string, Schema> } };
    const components = doc.components?.schemas ?? {};
    const definitions = Object.fromEntries(Object.entries(components).map(([n, x]) => [n, toJsonSchema(x)])) as Record<
      string,
      Schema
    >;
    for (const [name, schema] of Object.entries(components)) {
      const gvks = schema['x-kubernetes-group-version-kind'] as
        { group: string; version: string; kind: string }[] | undefined;
      for (const gvk of gvks ?? []) {
        if (`${gvk.group ? `apis/${gvk.group}` : 'api'}/${gvk.version}` !== path) continue;
        const folder = join(dir, gvk.group || 'v1');
        mkdirSync(folder, { recursive: true });
        const standalone = { ...(definitions[name] as Schema), definitions };
        // kubeconform reads apiVersion/kind too; CRD schemas list them, built-ins too.
        writeFileSync(join(folder, `${gvk.kind.toLowerCase()}_${gvk.version}.json`), JSON.stringify(standalone));
        count++;
      }
    }
  }
  return count;
}

export const SCHEMA_LOCATION = '{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json';
