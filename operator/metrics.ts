/** prom-client metrics of the operator, on a registry of its own. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type Metrics = ReturnType<typeof createMetrics>;

export function createMetrics(sinceLastEvent: () => Record<string, number>) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'custos_operator_' });
  return {
    registry,
    reconciles: new Counter({
      name: 'custos_operator_reconcile_total',
      help: 'Reconciles by kind and result',
      labelNames: ['kind', 'result'] as const,
      registers: [registry],
    }),
    errors: new Counter({
      name: 'custos_operator_reconcile_errors_total',
      help: 'Reconciles that failed, by kind',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'custos_operator_reconcile_duration_seconds',
      help: 'Reconcile duration by kind',
      labelNames: ['kind'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    applies: new Counter({
      name: 'custos_operator_apply_total',
      help: 'Server-side applies by kind of owned object',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    informerRestarts: new Counter({
      name: 'custos_operator_informer_restarts_total',
      help: 'Informer restarts (after errors and periodic re-lists)',
      labelNames: ['informer'] as const,
      registers: [registry],
    }),
    leader: new Gauge({
      name: 'custos_operator_leader',
      help: '1 while this replica holds the leader lease',
      registers: [registry],
    }),
    sinceLastEvent: new Gauge({
      name: 'custos_operator_informer_seconds_since_last_event',
      help: 'Seconds since each informer last delivered an event or completed a list',
      labelNames: ['informer'] as const,
      registers: [registry],
      collect() {
        for (const [informer, s] of Object.entries(sinceLastEvent())) this.set({ informer }, s);
      },
    }),
  };
}
