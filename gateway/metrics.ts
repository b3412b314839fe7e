/** The gateway's Prometheus metrics, on a registry of its own (one per app, so tests do not collide). */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface GatewayMetrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly mpcSessionDuration: Histogram<'operation' | 'algo' | 'result'>;
  readonly auditChainLength: Gauge;
  readonly mpcAborts: Counter<'operation' | 'algo' | 'outcome'>;
  readonly nodeDisruptions: Counter<'node' | 'outcome'>;
  readonly backupLastSuccess: Gauge;
  readonly backupLastSize: Gauge;
  readonly backupDuration: Gauge;
  readonly backups: Counter<'result'>;
}

export function createMetrics(
  opts: { defaultMetrics?: boolean; auditLength?: () => Promise<number> } = {},
): GatewayMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'custos_gateway_' });
  const auditLength = opts.auditLength;
  return {
    registry,
    httpRequests: new Counter({
      name: 'custos_http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'custos_http_request_duration_seconds',
      help: 'HTTP request latency by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    mpcSessionDuration: new Histogram({
      name: 'custos_mpc_session_duration_seconds',
      help: 'MPC session duration by operation, algorithm and result',
      labelNames: ['operation', 'algo', 'result'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    mpcAborts: new Counter({
      name: 'custos_mpc_aborts_total',
      help: 'Failed MPC sessions by operation, algorithm and attribution (guilty, refuted, unattributed, unavailable, timeout)',
      labelNames: ['operation', 'algo', 'outcome'],
      registers: [registry],
    }),
    nodeDisruptions: new Counter({
      name: 'custos_node_disruptions_total',
      help: 'Aborts pinned on a node: proven culprit (guilty) or false accuser (refuted)',
      labelNames: ['node', 'outcome'],
      registers: [registry],
    }),
    backupLastSuccess: new Gauge({
      name: 'custos_backup_last_success_timestamp_seconds',
      help: 'Unix time of the last backup set written to every location',
      registers: [registry],
    }),
    backupLastSize: new Gauge({
      name: 'custos_backup_last_size_bytes',
      help: 'Stored size of the last successful backup set',
      registers: [registry],
    }),
    backupDuration: new Gauge({
      name: 'custos_backup_last_duration_seconds',
      help: 'How long the last successful backup took',
      registers: [registry],
    }),
    backups: new Counter({
      name: 'custos_backups_total',
      help: 'Backup attempts by result',
      labelNames: ['result'],
      registers: [registry],
    }),
    auditChainLength: new Gauge({
      name: 'custos_audit_chain_length',
      help: 'Entries in the hash-chained audit log',
      registers: [registry],
      // Read at scrape time, so the gauge is right even after a restart.
      async collect() {
        if (auditLength) this.set(await auditLength());
      },
    }),
  };
}
