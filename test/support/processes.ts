import { spawn } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { testDatabaseUrl } from './db';

/**
 * The commands an operator types, run as real processes (node with tsx as a
 * loader: one process, so signals reach our handlers). Every run is bounded
 * by a deadline and killed past it.
 */
export const CLI = (name: string) => path.join(__dirname, '..', '..', 'src', 'cli', `${name}.ts`);

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `vars` are laid over this process's environment; an undefined value removes the variable. */
export function envWith(vars: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'info' };
  // Settings a developer's shell may carry must not leak into a spec's command.
  for (const name of ['DATABASE_URL', 'EMBEDDED_PG_PORT', 'JWT_SECRET', 'RECORDINGS_SECRET', 'JWKS_URL', 'HOST', 'PORT', 'REDIS_URL'])
    delete env[name];
  for (const [name, value] of Object.entries(vars)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/** Runs a command to its end (or kills it at `timeoutMs`). */
export function run(cli: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<Finished> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI(cli), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Starts `npm start`'s entry point and waits for "Switchboard ready", or for
 * it to exit first (then `ready` is false and `finished` says why).
 */
export async function startServer(
  env: NodeJS.ProcessEnv,
  timeoutMs = 60_000,
): Promise<{ ready: boolean; output: () => string; stop(): Promise<Finished> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI('start')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<Finished>((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
  const deadline = Date.now() + timeoutMs;
  // Node sets exitCode or signalCode before it emits 'exit'.
  const running = () => child.exitCode === null && child.signalCode === null;
  while (!stdout.includes('Switchboard ready') && running() && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const ready = stdout.includes('Switchboard ready');
  return {
    ready,
    output: () => stdout + stderr,
    async stop() {
      if (child.exitCode === null) child.kill(ready ? 'SIGTERM' : 'SIGKILL');
      return exited;
    },
  };
}

/** A database of its own on the test server, for commands that look at the whole database. */
export async function freshDatabase(name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: testDatabaseUrl() });
  await admin.connect();
  try {
    await admin.query(`drop database if exists ${name}`);
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(testDatabaseUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

/** A Node stack frame: what no command's failure may print. */
export const STACK_FRAME = /^\s+at .+\(?.*:\d+:\d+\)?$/m;
