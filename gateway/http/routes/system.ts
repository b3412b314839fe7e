/** Unauthenticated routes: liveness, readiness, metrics, the OpenAPI document. */
import type { FastifyPluginAsync } from 'fastify';
import type { z } from 'zod';
import type { ReadyResponseSchema } from '../../../common/api/schemas.ts';
import type { MpcCoordinator, NodeHealth } from '../../coordinator/types.ts';
import type { GatewayMetrics } from '../../metrics.ts';
import { buildOpenApiDocument } from '../../openapi/document.ts';
import { backupStatusView, type BackupStatus } from '../../backups/service.ts';

/** A majority of the configured nodes must be reachable and unsealed. */
export function readiness(health: readonly NodeHealth[], nodeCount: number): z.infer<typeof ReadyResponseSchema> {
  const quorum = Math.floor(nodeCount / 2) + 1;
  const usable = health.filter((n) => n.reachable && !n.sealed).length;
  return {
    ready: usable >= quorum,
    quorum,
    nodes: health.map((n) => ({
      node_id: n.nodeId,
      reachable: n.reachable,
      sealed: n.sealed,
      share_count: n.shareCount,
      version: n.version,
      gg18_preparams_ready: n.preParamsReady ?? 0,
    })),
  };
}

export const systemRoutes: FastifyPluginAsync<{
  coordinator: MpcCoordinator;
  metrics: GatewayMetrics;
  nodeCount: number;
  backupStatus?: () => BackupStatus;
  /** True once the process is shutting down: /ready fails so the Service stops sending requests. */
  draining: () => boolean;
}> = async (app, { coordinator, metrics, nodeCount, backupStatus, draining }) => {
  const openapi = JSON.stringify(buildOpenApiDocument());

  app.get('/health', async () => ({ status: 'ok' }));

  app.get('/ready', async (request, reply) => {
    // A coordinator that cannot even report health means not ready, not an internal error.
    const health = await coordinator.health().catch((err: unknown) => {
      request.log.warn({ err }, 'coordinator health failed');
      return [];
    });
    const body = {
      ...readiness(health, nodeCount),
      ...(backupStatus ? { backup: backupStatusView(backupStatus(), new Date()) } : {}),
    };
    if (draining()) body.ready = false;
    return reply.code(body.ready ? 200 : 503).send(body);
  });

  app.get('/metrics', async (_request, reply) => {
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.get('/api/v1/openapi.json', async (_request, reply) => reply.type('application/json').send(openapi));
};
