/** What a parsed `custos` command does, and how its outcome is shown; main.ts wires it to the process. */
import { resolve } from 'node:path';
import { generateClientKeyPair } from '../../common/authz/client-keys.ts';
import { CustosClient } from '../client.ts';
import { CustosApiError, CustosConnectionError } from '../errors.ts';
import { USAGE, UsageError, parseInvocation } from './args.ts';
import type { Command } from './args.ts';
import { CliError, credentialsPath, loadCredentials } from './credentials.ts';
import { restoreGateway, restoreNode, verifyBackup } from './backup.ts';

export interface CliIo {
  env: Record<string, string | undefined>;
  cwd: string;
  readText: (path: string) => string;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Writes a new file readable by its owner only; fails when it exists. */
  writeSecretFile: (path: string, text: string) => void;
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const invocation = parseInvocation(argv, io.readText);
    if (invocation.command.kind === 'help') {
      io.stdout(USAGE + '\n');
      return 0;
    }
    const creds = loadCredentials(credentialsPath(invocation.credentialsPath, io.env, io.cwd), io.readText);
    const baseUrl = invocation.baseUrl ?? creds.base_url;
    const client = new CustosClient({
      baseUrl,
      accessKey: creds.access_key,
      ...('private_key' in creds ? { privateKey: creds.private_key } : { secretKey: creds.secret_key }),
    });
    const command = invocation.command;
    if (command.kind === 'audit-export') {
      // JSON lines, one entry each, oldest first: streamable into any log tool.
      for await (const item of client.iterateAudit(command.query)) io.stdout(JSON.stringify(item) + '\n');
      return 0;
    }
    const { output, exitCode } =
      command.kind === 'create-access-key'
        ? await createAccessKey(command, client, baseUrl, io)
        : command.kind === 'create-hmac-access-key' || command.kind === 'rotate-access-key'
          ? await newSecret(command, client, baseUrl, io)
          : command.kind === 'backup-verify' || command.kind === 'backup-restore'
            ? await offlineBackup(command, client, io)
            : await execute(command, client);
    io.stdout(JSON.stringify(output, null, 2) + '\n');
    return exitCode;
  } catch (err) {
    const failure = describeFailure(err);
    io.stderr(failure.line + '\n');
    return failure.exitCode;
  }
}

/** Makes the key pair locally, registers the public half, and writes the new credentials file. */
async function createAccessKey(
  command: Extract<Command, { kind: 'create-access-key' }>,
  client: CustosClient,
  baseUrl: string,
  io: CliIo,
): Promise<{ output: unknown; exitCode: number }> {
  const pair = generateClientKeyPair(command.algorithm);
  const credentials = { base_url: baseUrl, access_key: command.accessKey, private_key: pair.privateKeyPem };
  // Written first: a registered key whose private half was lost would be useless.
  try {
    io.writeSecretFile(resolve(io.cwd, command.out), JSON.stringify(credentials, null, 2) + '\n');
  } catch (err) {
    throw new CliError(`cannot write ${command.out}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const created = await client.createAccessKey({
    ...command.settings,
    access_key: command.accessKey,
    algorithm: command.algorithm,
    public_key: pair.publicKey,
  });
  return done({ ...created, credentials_file: command.out });
}

/**
 * A new HMAC secret (create or rotate), shown once: with --out it goes into a new owner-only
 * credentials.json and stdout leaves it out; without, stdout carries it.
 */
async function newSecret(
  command: Extract<Command, { kind: 'create-hmac-access-key' | 'rotate-access-key' }>,
  client: CustosClient,
  baseUrl: string,
  io: CliIo,
): Promise<{ output: unknown; exitCode: number }> {
  const answer =
    command.kind === 'create-hmac-access-key'
      ? await client.createAccessKey(command.request)
      : await client.rotateAccessKey(command.accessKey, command.graceSeconds);
  if (command.out === undefined || answer.secret_key === undefined) return done(answer);
  const { secret_key: secretKey, ...info } = answer;
  const credentials = { base_url: baseUrl, access_key: answer.access_key, secret_key: secretKey };
  try {
    io.writeSecretFile(resolve(io.cwd, command.out), JSON.stringify(credentials, null, 2) + '\n');
  } catch (err) {
    // The secret exists only in this answer: print it rather than lose it.
    io.stderr(
      `custos: cannot write ${command.out} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); the secret follows\n`,
    );
    return done(answer);
  }
  return done({ ...info, credentials_file: command.out });
}

/**
 * Verify or restore, then report the outcome to the gateway for its audit log. A gateway that is
 * down (a lost site) does not undo the work: the output says the report was not recorded.
 */
async function offlineBackup(
  command: Extract<Command, { kind: 'backup-verify' | 'backup-restore' }>,
  client: CustosClient,
  io: CliIo,
): Promise<{ output: unknown; exitCode: number }> {
  const operation = command.kind === 'backup-verify' ? 'VERIFY' : 'RESTORE';
  const nodeId = command.kind === 'backup-restore' && 'nodeId' in command.target ? command.target.nodeId : undefined;
  const started = performance.now();
  const report = async (setId: string | undefined, result: 'SUCCESS' | 'FAILURE', message?: string) => {
    if (!setId) return 'not recorded: no set id';
    try {
      const { audit_seq } = await client.reportBackup(setId, {
        operation,
        result,
        ...(nodeId && { node_id: nodeId }),
        ...(message && { message: message.slice(0, 500), error_code: message.split(':')[0]?.slice(0, 64) }),
        duration_ms: Math.round(performance.now() - started),
      });
      return `recorded as audit entry ${audit_seq}`;
    } catch (err) {
      return `not recorded: ${describeFailure(err).line}`;
    }
  };
  try {
    const output =
      command.kind === 'backup-verify'
        ? await verifyBackup(command.setId, command.source, io)
        : 'nodeId' in command.target
          ? await restoreNode(command.setId, command.target.nodeId, command.source, io)
          : await restoreGateway(command.setId, command.source, io);
    return done({ ...output, audit: await report(output.set_id, 'SUCCESS') });
  } catch (err) {
    if (err instanceof CliError) {
      const audit = await report(command.setId, 'FAILURE', err.message);
      throw new CliError(`${err.message} (audit: ${audit})`);
    }
    throw err;
  }
}

export async function execute(
  command: Exclude<
    Command,
    {
      kind:
        | 'help'
        | 'create-access-key'
        | 'create-hmac-access-key'
        | 'rotate-access-key'
        | 'audit-export'
        | 'backup-verify'
        | 'backup-restore';
    }
  >,
  client: CustosClient,
): Promise<{ output: unknown; exitCode: number }> {
  switch (command.kind) {
    case 'generate':
      return done(
        await client.generateKey(
          command.request,
          command.idempotencyKey === undefined ? {} : { idempotencyKey: command.idempotencyKey },
        ),
      );
    case 'get':
      return done(await client.getKey(command.keyId));
    case 'list':
      if (!command.all) return done(await client.listKeys(command.query));
      return done({ keys: await collect(client.iterateKeys(command.query)) });
    case 'sign':
      return done(await client.sign(command.keyId, command.request));
    case 'status':
      return done(await client.updateStatus(command.keyId, command.request));
    case 'refresh':
      return done(await client.refreshKey(command.keyId));
    case 'operation':
      return done(await client.getOperation(command.operationId));
    case 'aborts':
      return done(command.clear ? await client.clearAborts(command.keyId) : await client.abortSummary(command.keyId));
    case 'list-access-keys':
      return done({ access_keys: await client.listAccessKeys() });
    case 'access-key-status':
      return done(await client.setAccessKeyStatus(command.accessKey, command.status));
    case 'audit-query':
      return done(await client.queryAudit(command.query));
    case 'audit-verify': {
      const verdict = await client.verifyAudit();
      // A pinned key that differs means checkpoints signed by someone else: as bad as tampering.
      if (command.publicKey !== undefined && verdict.public_key !== command.publicKey) {
        return {
          output: {
            ...verdict,
            ok: false,
            reason: `checkpoint key ${verdict.public_key} is not the pinned ${command.publicKey}`,
          },
          exitCode: 1,
        };
      }
      return { output: verdict, exitCode: verdict.ok ? 0 : 1 };
    }
    case 'backup-create':
      return done(await client.createBackup());
    case 'backup-list':
      return done(await client.listBackups());
    case 'ready': {
      // Not ready is an answer, not an error: print it, and exit 1 so scripts can wait on it.
      const ready = await client.ready();
      return { output: ready, exitCode: ready.ready ? 0 : 1 };
    }
  }
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

function done(output: unknown): { output: unknown; exitCode: number } {
  return { output, exitCode: 0 };
}

/** One readable line per failure, with the gateway's error code and request id when there is one. */
export function describeFailure(err: unknown): { line: string; exitCode: number } {
  if (err instanceof UsageError) return { line: `custos: ${err.message} (see custos --help)`, exitCode: 2 };
  if (err instanceof CustosApiError) {
    const requestId = err.requestId === undefined ? '' : `, request_id ${err.requestId}`;
    return { line: `custos: ${err.code}: ${err.message} (HTTP ${err.status}${requestId})`, exitCode: 1 };
  }
  if (err instanceof CustosConnectionError) {
    return { line: `custos: ${err.message} (after ${err.attempts} attempt(s))`, exitCode: 1 };
  }
  if (err instanceof CliError) return { line: `custos: ${err.message}`, exitCode: 1 };
  return { line: `custos: unexpected error: ${err instanceof Error ? err.message : String(err)}`, exitCode: 1 };
}
