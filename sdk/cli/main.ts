#!/usr/bin/env -S node --import tsx
/** The `custos` CLI: a thin shell around runCli (run.ts); see `custos --help`. */
import { readFileSync, writeFileSync } from 'node:fs';
import { runCli } from './run.ts';

process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  cwd: process.cwd(),
  readText: (path) => readFileSync(path, 'utf8'),
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  writeSecretFile: (path, text) => writeFileSync(path, text, { mode: 0o600, flag: 'wx' }),
});
