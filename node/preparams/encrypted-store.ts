/**
 * Persists the GG18 pre-params pool in the node's encrypted store (the items hold Paillier and
 * ring-Pedersen secrets, so they are sealed under the DEK exactly like shares).
 */
import { ByteWriter, decodeAll } from '../../common/protocols/encoding.ts';
import type { ShareStore } from '../storage/share-store.ts';
import { PreParamsPool, type PreParamsStore } from './pool.ts';

const SECRET_NAME = 'gg18-preparams';
const MAX_ITEMS = 64;

export function encodeItems(items: readonly Uint8Array[]): Uint8Array {
  const w = new ByteWriter().u16(items.length);
  for (const item of items) w.u32(item.length).bytes(item);
  return w.finish();
}

export function decodeItems(bytes: Uint8Array): Uint8Array[] {
  return decodeAll(bytes, (r) => {
    const n = r.u16();
    if (n > MAX_ITEMS) throw new Error(`${n} pre-params items is more than ${MAX_ITEMS}`);
    return Array.from({ length: n }, () => r.bytes(r.u32()));
  });
}

export function preParamsStoreIn(store: Pick<ShareStore, 'getSecret' | 'putSecret'>): PreParamsStore {
  return {
    async load() {
      const blob = await store.getSecret(SECRET_NAME);
      if (!blob) return [];
      try {
        return decodeItems(blob);
      } finally {
        blob.fill(0);
      }
    },
    async save(items) {
      const blob = encodeItems(items);
      try {
        await store.putSecret(SECRET_NAME, blob);
      } finally {
        blob.fill(0);
      }
    },
  };
}

export function openPreParamsPool(
  store: Pick<ShareStore, 'getSecret' | 'putSecret'>,
  target: number,
  onSaveError: (error: unknown) => void,
): Promise<PreParamsPool> {
  return PreParamsPool.open({ target, store: preParamsStoreIn(store), onSaveError });
}
