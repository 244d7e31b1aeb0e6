import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

/**
 * A dedicated embedded PostgreSQL (persistent, so a restart keeps its data)
 * that a spec can stop and start again, run by test/support/postgresProcess.ts.
 */
export interface RestartablePostgres {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Kills the server and all its processes at once, like a crash (see postgresProcess.ts); start() recovers it. */
  crash(): Promise<void>;
  /** Stops the server and its process. */
  close(): Promise<void>;
}

const SCRIPT = path.join(__dirname, 'postgresProcess.ts');

export async function startRestartablePostgres(dir: string, port: number): Promise<RestartablePostgres> {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, dir, String(port)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const waiting: ((message: { event: string; url?: string; message?: string }) => void)[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => waiting.shift()?.(JSON.parse(line)));

  const send = (command: 'start' | 'stop' | 'crash', expected: string) =>
    new Promise<{ url?: string }>((resolve, reject) => {
      waiting.push((message) => (message.event === expected ? resolve(message) : reject(new Error(message.message ?? message.event))));
      child.stdin.write(`${command}\n`);
    });

  const { url } = await send('start', 'started');
  if (!url) throw new Error('postgres process reported no url');
  return {
    url,
    stop: async () => {
      await send('stop', 'stopped');
    },
    start: async () => {
      await send('start', 'started');
    },
    crash: async () => {
      await send('crash', 'crashed');
    },
    async close() {
      child.stdin.end();
      await exited;
    },
  };
}
