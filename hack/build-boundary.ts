/**
 * The build boundary: what ships (dist/ and the images) is compiled from the production sources
 * that tsconfig.build.json includes, and none of it may import test support (test/, testing/
 * folders, *.test.ts). A test helper pulled into shipped code breaks the image build (the
 * Dockerfiles copy dist/ only) and ships code nobody reviewed as production code.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** Folders tsconfig.build.json compiles. */
export const PRODUCTION_ROOTS = ['common', 'node', 'gateway', 'operator', 'sdk'];

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)['"]([^'"]+)['"]/g;

/** Module specifiers a source file imports (static, side-effect, dynamic and require). */
export function importSpecifiers(source: string): string[] {
  return [...source.matchAll(IMPORT)].map((m) => m[1] as string);
}

/** True for paths (relative to the repository root, or to dist/) that are test support. */
export function isTestSupport(path: string): boolean {
  const parts = path.split('/');
  return (
    parts[0] === 'test' ||
    parts.includes('testing') ||
    /\.test\.(ts|js)$/.test(path) ||
    /(^|\/)test-support\.(ts|js)$/.test(path)
  );
}

/** The test-support files `file` (under `root`) imports, as paths relative to `root`. */
export function testImportsOf(root: string, file: string, source: string): string[] {
  return importSpecifiers(source)
    .filter((s) => s.startsWith('.'))
    .map((s) => relative(root, resolve(dirname(file), s)))
    .filter(isTestSupport);
}

function walk(dir: string, keep: (path: string) => boolean, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, keep, out);
    else if (keep(p)) out.push(p);
  }
  return out;
}

/** `file: imported` for every shipped source file under `root` that imports test support. */
export function boundaryViolations(root: string, ext: '.ts' | '.js'): string[] {
  const found: string[] = [];
  for (const top of PRODUCTION_ROOTS) {
    let files: string[];
    try {
      files = walk(join(root, top), (p) => p.endsWith(ext) && !isTestSupport(relative(root, p)));
    } catch {
      continue; // e.g. dist/ compiled without one of the roots
    }
    for (const file of files)
      for (const imported of testImportsOf(root, file, readFileSync(file, 'utf8')))
        found.push(`${relative(root, file)}: ${imported}`);
  }
  return found;
}
