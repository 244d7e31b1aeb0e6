import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { freePort, waitForPort } from './waiting';

/**
 * A real redis-server (Debian package `redis-server`) on a random loopback
 * port, for the shared-cache specs; undefined when the binary is not
 * installed (.ci/run installs it). No persistence: it dies with the test.
 */
export interface RedisServer {
  url: string;
  stop(): Promise<void>;
}

export function redisServerAvailable(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitForPort('redis-server', port, 5000);
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
