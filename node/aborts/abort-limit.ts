/**
 * A node's own brake on sessions that keep failing for one key without a proven culprit
 * (docs/security.md, "Identifiable abort"). Each such abort leaks at most a little to whoever
 * caused it (e.g. whether a GG18 session succeeded); after `limit` of them the node refuses new
 * sign sessions for the key until an operator clears the count. Counts live in the share store,
 * encrypted and authenticated under the DEK like shares, so a restart does not reset them.
 */
export interface SecretStore {
  getSecret(name: string): Promise<Uint8Array | undefined>;
  putSecret(name: string, secret: Uint8Array): Promise<void>;
  deleteSecret(name: string): Promise<void>;
}

export class AbortLimitReached extends Error {
  constructor(
    readonly keyId: string,
    readonly count: number,
  ) {
    super(
      `${count} sign sessions for ${keyId} aborted without a proven culprit; this node refuses new ones until an operator clears the count`,
    );
    this.name = 'AbortLimitReached';
  }
}

const nameOf = (keyId: string) => `aborts.${keyId}`;

export function decodeCount(bytes: Uint8Array | undefined): number {
  if (!bytes) return 0;
  const text = new TextDecoder().decode(bytes);
  if (!/^(0|[1-9][0-9]{0,9})$/.test(text)) throw new Error('abort count record is malformed');
  return Number(text);
}

export class UnattributedAbortLimit {
  /** Updates of one key's count run one after another. */
  private chains = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: () => SecretStore | undefined,
    readonly limit: number,
  ) {}

  async count(keyId: string): Promise<number> {
    const store = this.store();
    return store ? decodeCount(await store.getSecret(nameOf(keyId))) : 0;
  }

  /** Throws AbortLimitReached when the key has reached the limit. */
  async assertOpen(keyId: string): Promise<void> {
    const count = await this.count(keyId);
    if (count >= this.limit) throw new AbortLimitReached(keyId, count);
  }

  /** Counts one more unattributed abort; returns the new count. */
  record(keyId: string): Promise<number> {
    return this.serial(keyId, async (store) => {
      const next = decodeCount(await store.getSecret(nameOf(keyId))) + 1;
      await store.putSecret(nameOf(keyId), new TextEncoder().encode(String(next)));
      return next;
    });
  }

  /** Forgets the key's count (an operator's decision); returns what it was. */
  clear(keyId: string): Promise<number> {
    return this.serial(keyId, async (store) => {
      const was = decodeCount(await store.getSecret(nameOf(keyId)));
      await store.deleteSecret(nameOf(keyId));
      return was;
    });
  }

  private serial<T>(keyId: string, step: (store: SecretStore) => Promise<T>): Promise<T> {
    const run = (this.chains.get(keyId) ?? Promise.resolve()).then(() => {
      const store = this.store();
      if (!store) throw new Error('the node is sealed');
      return step(store);
    });
    const settled = run.catch(() => undefined);
    this.chains.set(keyId, settled);
    void settled.then(() => {
      if (this.chains.get(keyId) === settled) this.chains.delete(keyId);
    });
    return run;
  }
}
