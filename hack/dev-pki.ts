/**
 * Creates the development certificate hierarchy under the Custos home directory, leaving every
 * existing file alone: `tsx hack/dev-pki.ts [--home DIR] [--nodes 4]`.
 */
import { parseArgs } from 'node:util';
import { custosHome, ensureDevPki } from '../common/pki/dev-pki.ts';

const { values } = parseArgs({
  options: { home: { type: 'string' }, nodes: { type: 'string', default: '4' } },
  strict: true,
});
const count = Number(values.nodes);
if (!Number.isInteger(count) || count < 1 || count > 64) {
  console.error(`--nodes must be an integer from 1 to 64, got ${values.nodes}`);
  process.exit(2);
}
const home = values.home ?? custosHome();
const nodeIds = Array.from({ length: count }, (_, i) => `tss${i + 1}`);
try {
  const layout = await ensureDevPki(home, nodeIds);
  if (layout.created.length === 0) console.log(`dev PKI in ${home} is complete; nothing created`);
  else for (const path of layout.created) console.log(`created ${path}`);
} catch (err) {
  console.error(`dev-pki: ${(err as Error).message}`);
  process.exit(1);
}
