/**
 * custos-operator entrypoint. Configuration by environment:
 *   POD_NAMESPACE (the Lease's namespace), POD_NAME (leader identity), LEASE_NAME,
 *   LEASE_DURATION_SECONDS, RESYNC_SECONDS, METRICS_PORT (default 8081), LOG_LEVEL,
 *   WATCH_NAMESPACE (only this namespace; unset: every namespace),
 *   KUBECONFIG (out of cluster; in cluster the service account is used).
 */
import { createServer } from 'node:http';
import { hostname } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { Operator } from './manager.ts';

const log = pino({ name: 'custos-operator', level: process.env.LOG_LEVEL ?? 'info' });
const kc = new KubeConfig();
kc.loadFromDefault();

const operator = new Operator({
  kc,
  log,
  namespace: process.env.POD_NAMESPACE ?? 'custos-system',
  identity: process.env.POD_NAME ?? `${hostname()}-${process.pid}`,
  leaseName: process.env.LEASE_NAME ?? 'custos-operator',
  leaseDurationSeconds: Number(process.env.LEASE_DURATION_SECONDS ?? 15),
  renewEveryMs: (Number(process.env.LEASE_DURATION_SECONDS ?? 15) * 1000) / 3,
  resyncMs: Number(process.env.RESYNC_SECONDS ?? 300) * 1000,
  ...(process.env.WATCH_NAMESPACE ? { watchNamespace: process.env.WATCH_NAMESPACE } : {}),
});

const server = createServer((req, res) => {
  if (req.url === '/metrics') {
    operator.metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': operator.metrics.registry.contentType }).end(text),
      (err: Error) => res.writeHead(500).end(err.message),
    );
  } else if (req.url === '/healthz') res.writeHead(200).end('ok');
  else if (req.url === '/readyz') {
    const synced = Object.values(operator.informers)
      .filter((i) => i !== operator.informers.certificates)
      .every((i) => i.synced);
    res.writeHead(synced ? 200 : 503).end(synced ? 'ok' : 'informers not synced');
  } else res.writeHead(404).end();
});
server.listen(Number(process.env.METRICS_PORT ?? 8081), () =>
  log.info({ port: process.env.METRICS_PORT ?? 8081 }, 'metrics and health listening'),
);

operator.start();
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.once(sig, () => {
    log.info({ signal: sig }, 'shutting down');
    void operator.stop().finally(() => server.close(() => process.exit(0)));
  });
}
