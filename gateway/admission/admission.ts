/**
 * Admission control: per algorithm, at most `concurrency` MPC sessions run at once and at most
 * `queue` more wait their turn, first come first served. A request beyond both is refused at once
 * with 429 and Retry-After, before any node has worked on it, instead of timing out after the
 * nodes have spent their CPU on sessions that cannot finish in time.
 */
import { ApiError } from '../http/errors.ts';
import type { KeyService } from '../keys/service.ts';

export interface AdmissionLimits {
  /** Sessions running at once. */
  readonly concurrency: number;
  /** Requests waiting beyond those. */
  readonly queue: number;
}

export interface Admission {
  /** Runs `work` when a slot is free; refuses with 429 when the queue is full. */
  run<T>(algo: string, work: () => Promise<T>): Promise<T>;
  /** Running and waiting requests of one algorithm (metrics, tests). */
  depth(algo: string): { running: number; waiting: number };
}

interface Lane {
  running: number;
  readonly waiting: (() => void)[];
}

/** Seconds a refused client should wait: about the time the queue ahead of it takes to drain. */
export function retryAfterSeconds(limits: AdmissionLimits, typicalSessionMs: number): number {
  const rounds = Math.ceil((limits.concurrency + limits.queue) / limits.concurrency);
  return Math.max(1, Math.ceil((rounds * typicalSessionMs) / 1000));
}

/** A session's usual length on a loaded 2-core cluster, for Retry-After (README benchmark table). */
const TYPICAL_SESSION_MS: Readonly<Record<string, number>> = { GG18: 4000, EDDSA: 100, BLS: 200 };

export function createAdmission(
  limits: Readonly<Record<string, AdmissionLimits>>,
  typicalSessionMs: Readonly<Record<string, number>> = TYPICAL_SESSION_MS,
): Admission {
  const lanes = new Map<string, Lane>();
  const lane = (algo: string): Lane => {
    let l = lanes.get(algo);
    if (!l) lanes.set(algo, (l = { running: 0, waiting: [] }));
    return l;
  };
  return {
    async run(algo, work) {
      const limit = limits[algo];
      if (!limit) return work();
      const l = lane(algo);
      if (l.running >= limit.concurrency) {
        if (l.waiting.length >= limit.queue) {
          throw new ApiError(
            429,
            'RATE_LIMITED',
            `the gateway's ${algo} queue is full (${limit.concurrency} running, ${limit.queue} waiting)`,
            { 'retry-after': String(retryAfterSeconds(limit, typicalSessionMs[algo] ?? 1000)) },
          );
        }
        // The slot is handed over by the finishing request, so `running` never drops in between.
        await new Promise<void>((resolve) => l.waiting.push(resolve));
      } else {
        l.running++;
      }
      try {
        return await work();
      } finally {
        const next = l.waiting.shift();
        if (next) next();
        else l.running--;
      }
    },
    depth(algo) {
      const l = lane(algo);
      return { running: l.running, waiting: l.waiting.length };
    },
  };
}

/**
 * The key service with every MPC session behind admission control: keygen and sign wait for a
 * slot of their algorithm (signing reads the key's algorithm first) before any node is asked.
 */
export function admitted(keys: KeyService, admission: Admission): KeyService {
  return {
    ...keys,
    generate: (req, ctx) => admission.run(req.format.algo_type, () => keys.generate(req, ctx)),
    sign: async (keyId, req, ctx) => {
      const key = await keys.get(keyId);
      return admission.run(key.format.algo_type, () => keys.sign(keyId, req, ctx));
    },
  };
}
