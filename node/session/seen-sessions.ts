/**
 * Session ids a node has taken part in, so that a session-open is never accepted twice, across
 * restarts too. Every start carries the gateway's deadline for the session; a node accepts a
 * start only while `now <= deadline + CLOCK_SKEW_MS` and remembers its id until that same moment.
 * A replayed start is therefore refused either as seen (the id is still remembered) or as expired
 * (it is past the moment the id was forgotten), and the index holds only live sessions.
 *
 * The ids live in the node's encrypted store (authenticated under the DEK) and are written
 * before the session's first message leaves the node, without an fsync (it is on the path of
 * every signature): they survive a crash or restart of the node process, not a power loss of its
 * host within the session's lifetime.
 */
import { SessionFailure } from './session.ts';

/** How far the gateway's clock may be from the node's. */
export const CLOCK_SKEW_MS = 60_000;
/** The longest session a start may announce (the gateway's keygen timeout is 170 s by default). */
export const MAX_SESSION_LIFETIME_MS = 15 * 60_000;

/** Persistence of the index; the node backs it with its encrypted share store. */
export interface SeenSessionStore {
  /** Every remembered id with the time (Unix ms) it may be forgotten. */
  seenSessions(): Promise<Map<string, number>>;
  rememberSession(sessionId: string, forgetAfterMs: number): Promise<void>;
  forgetSessions(sessionIds: readonly string[]): Promise<void>;
}

/** Why a start with this deadline is refused at `now`, or undefined; pure. */
export function deadlineProblem(deadlineMs: number, now: number): string | undefined {
  if (!Number.isSafeInteger(deadlineMs) || deadlineMs <= 0) return 'the session has no deadline';
  if (now > deadlineMs + CLOCK_SKEW_MS) return 'the session is past its deadline (expired or replayed)';
  if (deadlineMs > now + MAX_SESSION_LIFETIME_MS + CLOCK_SKEW_MS) return 'the session deadline is too far ahead';
  return undefined;
}

/** Ids whose retention ended before `now`; pure. */
export function expiredIds(seen: ReadonlyMap<string, number>, now: number): string[] {
  return [...seen].filter(([, forgetAfter]) => forgetAfter < now).map(([id]) => id);
}

export class SeenSessions {
  private constructor(
    private readonly store: SeenSessionStore,
    private readonly seen: Map<string, number>,
    private readonly now: () => number,
  ) {}

  /** Loads the index and forgets what has expired. */
  static async open(store: SeenSessionStore, now: () => number = Date.now): Promise<SeenSessions> {
    const sessions = new SeenSessions(store, await store.seenSessions(), now);
    await sessions.evict();
    return sessions;
  }

  get size(): number {
    return this.seen.size;
  }

  /**
   * Accepts `sessionId` once: refuses a start past or too far before its deadline (BAD_START) and
   * an id already seen (REPLAY); otherwise stores the id before returning.
   */
  async claim(sessionId: string, deadlineMs: number): Promise<void> {
    const now = this.now();
    const problem = deadlineProblem(deadlineMs, now);
    if (problem) throw new SessionFailure('BAD_START', problem);
    await this.evict();
    if (this.seen.has(sessionId)) throw new SessionFailure('REPLAY', `session id ${sessionId} was already used`);
    const forgetAfter = deadlineMs + CLOCK_SKEW_MS;
    // Reserve in memory first: two starts with one id racing in must not both pass.
    this.seen.set(sessionId, forgetAfter);
    try {
      await this.store.rememberSession(sessionId, forgetAfter);
    } catch (e) {
      throw new SessionFailure('STORAGE', `could not record the session id: ${(e as Error).message}`);
    }
  }

  private async evict(): Promise<void> {
    const expired = expiredIds(this.seen, this.now());
    if (expired.length === 0) return;
    for (const id of expired) this.seen.delete(id);
    await this.store.forgetSessions(expired);
  }
}
