/**
 * Fails unless every runtime dependency (npm's production tree) carries an OSI-approved licence,
 * and none is on the deny list (non-commercial MPC libraries).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** SPDX ids of OSI-approved licences we accept. */
export const OSI_APPROVED = new Set([
  '0BSD',
  'Apache-2.0',
  'Artistic-2.0',
  'BlueOak-1.0.0',
  'BSD-2-Clause',
  'BSD-3-Clause',
  'ISC',
  'LGPL-2.1-only',
  'LGPL-2.1-or-later',
  'LGPL-3.0-only',
  'LGPL-3.0-or-later',
  'MIT',
  'MIT-0',
  'MPL-2.0',
  'Python-2.0',
  'Unlicense',
  'Zlib',
]);

/** Packages that must never ship (non-commercial licences; README "Libraries, and why"). */
export const DENIED = [/^@silencelaboratories\/dkls-wasm-ll-/, /^@bitgo\/sdk-lib-mpc$/];

/** Whether an SPDX expression is satisfiable with OSI-approved licences only. */
export function spdxAllowed(expression: string): boolean {
  const expr = expression.trim().replace(/^\((.*)\)$/, '$1');
  if (/\sOR\s/i.test(expr)) return expr.split(/\s+OR\s+/i).some(spdxAllowed);
  if (/\sAND\s/i.test(expr)) return expr.split(/\s+AND\s+/i).every(spdxAllowed);
  return OSI_APPROVED.has(expr);
}

export interface LicenceProblem {
  readonly name: string;
  readonly version: string;
  readonly license: string;
  readonly reason: string;
}

export function licenceOf(pkg: { license?: unknown; licenses?: unknown }): string {
  if (typeof pkg.license === 'string') return pkg.license;
  if (pkg.license && typeof pkg.license === 'object' && 'type' in pkg.license) return String(pkg.license.type);
  if (Array.isArray(pkg.licenses)) return pkg.licenses.map((l: { type?: string }) => l.type).join(' OR ');
  return 'UNKNOWN';
}

export function checkRuntimeLicences(root: string): { checked: number; problems: LicenceProblem[] } {
  const paths = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter((p) => p && p !== root);
  const problems: LicenceProblem[] = [];
  const seen = new Set<string>();
  for (const dir of paths) {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      name: string;
      version: string;
      license?: unknown;
      licenses?: unknown;
    };
    const id = `${pkg.name}@${pkg.version}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const license = licenceOf(pkg);
    if (DENIED.some((re) => re.test(pkg.name))) problems.push({ ...pkg, license, reason: 'denied package' });
    else if (!spdxAllowed(license)) problems.push({ ...pkg, license, reason: 'not an OSI-approved licence' });
  }
  return { checked: seen.size, problems };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { checked, problems } = checkRuntimeLicences(process.cwd());
  for (const p of problems) console.error(`${p.name}@${p.version}: ${p.license} (${p.reason})`);
  console.log(`${checked} runtime packages checked, ${problems.length} problem(s)`);
  process.exit(problems.length ? 1 : 0);
}
