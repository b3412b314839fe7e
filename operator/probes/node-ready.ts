/**
 * Readiness probe for a TSS node pod (exec probe): asks the node's own Health RPC over mTLS, with
 * the node's certificate, and succeeds only once the node is unsealed. Kubelet probes cannot
 * speak mTLS gRPC, and the node listens while still sealed, so a TCP probe would lie.
 */
import * as grpc from '@grpc/grpc-js';
import { devTlsPaths, readTlsMaterial, secretTlsPaths } from '../../common/pki/tls-files.ts';
import { TssNodeClient, type HealthResponse } from '../../common/rpc/tss-service.ts';
import { loadNodeConfig } from '../../node/config.ts';

// The probe runs in the node's container with the node's environment: read it the node's way.
const config = loadNodeConfig(process.env);
const port = config.listen.split(':').pop();
const tls = readTlsMaterial(config.tlsDir ? secretTlsPaths(config.tlsDir) : devTlsPaths(config.home, config.nodeId));
// The peer is this very node: trust the CA, skip the host name (we dial loopback).
const creds = grpc.credentials.createSsl(tls.ca, tls.key, tls.cert, { checkServerIdentity: () => undefined });
const client = new TssNodeClient(`127.0.0.1:${port}`, creds) as unknown as {
  Health(req: object, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: HealthResponse) => void): void;
  close(): void;
};
client.Health({}, { deadline: Date.now() + 3000 }, (err, res) => {
  client.close();
  if (err) {
    console.error(`not ready: ${err.message}`);
    process.exit(1);
  }
  if (res.sealed) {
    console.error(`not ready: ${res.node_id} is sealed`);
    process.exit(1);
  }
  process.exit(0);
});
