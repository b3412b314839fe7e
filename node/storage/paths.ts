import { join } from 'node:path';
import { pkiLayout } from '../../common/pki/dev-pki.ts';
import { assertEntityId } from '../../common/pki/identity.ts';

/** `certs/<id>/<id>.dek`: next to the node's certificate, apart from its data (README "Shares at rest"). */
export function dekFilePath(home: string, nodeId: string): string {
  return join(pkiLayout(home, nodeId).dir, `${nodeId}.dek`);
}

/** `data/leveldb_<id>`: the node's encrypted share database. */
export function shareDbPath(home: string, nodeId: string): string {
  assertEntityId(nodeId);
  return join(home, 'data', `leveldb_${nodeId}`);
}
