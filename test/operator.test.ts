import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config/config';
import { ConfigError } from '../src/config/problems';
import { createDb, createPool } from '../src/db/database';
import { startTestServer, type TestServer } from './support/server';
import { eventually, manualClock } from './support/caches';
import { openTestDb } from './support/db';
import { createOrg, type TestOrg } from './support/factories';
import { envWith, run, STACK_FRAME } from './support/processes';
import { freePort } from './support/waiting';

/**
 * What an operator is promised: a wrong deployment is explained in one
 * message, commands find the database they were meant to, and an outage of a
 * dependency is visible in the log without drowning it.
 */

describe('a wrong configuration', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-config-'));
  // Production without its secrets, plus three invalid values from each settings module.
  const wrong = {
    NODE_ENV: 'production',
    SWITCHBOARD_DATA_DIR: dataDir,
    PORT: 'eighty',
    MAX_QUERY_DEPTH: '0',
    RESPONSE_CACHE: 'maybe',
  };
  const expectEveryProblem = (message: string) => {
    const lines = message.split('\n');
    for (const variable of ['JWT_SECRET', 'RECORDINGS_SECRET', 'PORT', 'MAX_QUERY_DEPTH', 'RESPONSE_CACHE']) {
      expect(lines.filter((line) => line.includes(`- ${variable} `)).length).toBe(1);
    }
    expect(message).toContain('JWKS_URL'); // the alternative to JWT_SECRET
    expect(message).toContain('RECORDINGS_STORE=s3'); // the alternative to RECORDINGS_SECRET
  };

  it('is reported whole by loadConfig: one ConfigError, one line per setting, naming it and what it expects', () => {
    const saved = { ...process.env };
    let thrown: unknown;
    try {
      Object.assign(process.env, wrong);
      for (const name of ['JWT_SECRET', 'RECORDINGS_SECRET', 'JWKS_URL', 'RECORDINGS_STORE']) delete process.env[name];
      loadConfig();
    } catch (error) {
      thrown = error;
    } finally {
      process.env = saved;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).problems).toHaveLength(5);
    expectEveryProblem((thrown as ConfigError).message);
  });

  it('stops every command with that message, exit code 1 and no stack trace', async () => {
    const commands: [string, string[]][] = [
      ['start', []],
      ['token', ['--org', 'acme']],
      ['migrate', []],
      ['seed', []],
      ['rollups', ['check']],
      ['webhookSecret', ['--org', 'acme']],
      ['dbReport', []],
    ];
    const results = await Promise.all(commands.map(([cli, args]) => run(cli, args, envWith(wrong))));
    results.forEach((result, i) => {
      const [cli] = commands[i]!;
      expect([cli, result.code]).toEqual([cli, 1]);
      expect(result.stderr).toMatch(/invalid configuration \(5 problems\)/);
      expect(result.stderr).not.toMatch(STACK_FRAME);
      expectEveryProblem(result.stderr);
    });
  }, 60_000);
});

describe('commands find the embedded database', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-embedded-'));
  let embedded: ChildProcess | undefined;
  let org: TestOrg;

  beforeAll(async () => {
    // What `EMBEDDED_PG_PORT=<port> npm start` leaves running: the data directory's cluster on a port other than the default.
    const port = await freePort();
    embedded = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'support', 'embeddedServer.ts')], {
      env: envWith({ NODE_ENV: 'development', SWITCHBOARD_DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(port) }),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      embedded!.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const ready = /^ready (\S+)$/m.exec(out);
        if (ready) resolve(ready[1]!);
      });
      embedded!.once('exit', (code) => reject(new Error(`embedded server exited with ${code}`)));
    });
    const pool = createPool({ connectionString: url, max: 1 });
    org = await createOrg(createDb(pool));
    await pool.end();
  }, 120_000);

  afterAll(async () => {
    if (embedded?.exitCode === null) {
      const exited = new Promise((resolve) => embedded!.once('exit', resolve));
      embedded.kill('SIGTERM');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  }, 30_000);

  it('token reaches the embedded server on whatever port it was started, without being told the port', async () => {
    const result = await run('token', ['--org', org.slug], envWith({ NODE_ENV: 'development', SWITCHBOARD_DATA_DIR: dataDir }));
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(result.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
  }, 60_000);

  it('says why and what to do when the embedded server cannot start, never "undefined"', async () => {
    // A cluster.json from before ports were recorded, and another port asked for:
    // the cluster is locked by the running server, so a second one cannot start.
    const infoFile = path.join(dataDir, 'postgres', 'cluster.json');
    const recorded = readFileSync(infoFile, 'utf8');
    const { port: _recordedPort, ...withoutPort } = JSON.parse(recorded) as { port?: number };
    writeFileSync(infoFile, JSON.stringify(withoutPort));
    try {
      const other = await freePort();
      const result = await run(
        'token',
        ['--org', org.slug],
        envWith({ NODE_ENV: 'development', SWITCHBOARD_DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(other) }),
      );
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).not.toContain('undefined');
      expect(result.stderr).toContain(`did not start on port ${other}`);
      expect(result.stderr).toContain('EMBEDDED_PG_PORT');
      expect(result.stderr).not.toMatch(STACK_FRAME);
    } finally {
      writeFileSync(infoFile, recorded);
    }
  }, 60_000);
});

describe('an unreachable database', () => {
  it('is named, with what to do, by every command that needs it', async () => {
    // `localhost` is tried on ::1 and 127.0.0.1: the failure is an AggregateError whose message is empty.
    const url = `postgres://switchboard:secret@localhost:${await freePort()}/switchboard`;
    const env = envWith({
      NODE_ENV: 'development',
      SWITCHBOARD_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'switchboard-nodb-')),
      DATABASE_URL: url,
    });
    const results = await Promise.all([run('token', ['--org', 'acme'], env), run('migrate', [], env), run('start', [], env)]);
    for (const result of results) {
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        /: cannot reach the database at DATABASE_URL \(ECONNREFUSED\): start that PostgreSQL server or correct DATABASE_URL\n$/,
      );
      expect(result.stderr).not.toMatch(STACK_FRAME);
    }
  }, 60_000);
});

describe('a shared cache (Redis) outage', () => {
  const { db, close: closeDb } = openTestDb();
  const clock = manualClock();
  let server: TestServer;
  let org: TestOrg;

  beforeAll(async () => {
    org = await createOrg(db);
    // Nothing listens there: every Redis operation fails, as in an outage.
    const redisUrl = `redis://127.0.0.1:${await freePort()}`;
    const base = await startTestServer({ cacheClock: clock, overrides: {} });
    const caches = { ...base.config.caches, responseCache: true, entityCache: true, redisUrl };
    await base.close();
    server = await startTestServer({ cacheClock: clock, overrides: { caches } });
    await eventually('listener up', () => server.services.caches.trusted());
  });

  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when beforeAll failed
    await server?.close();
    await closeDb();
  });

  it('is logged at most once per interval, and the next line counts the errors left out', async () => {
    const token = await server.tokenFor(org);
    const warned = () => server.logs.filter((line) => line.msg === 'shared cache (Redis) error; served as a miss');
    for (let i = 0; i < 50; i++) {
      const answer = await server.graphql('{ agents { totalCount } }', { token });
      expect(answer.body.errors).toBeUndefined();
    }
    expect(warned().length).toBeLessThanOrEqual(2);
    expect(warned().length).toBeGreaterThanOrEqual(1);

    clock.advance(10_000);
    await server.graphql('{ agents { totalCount } }', { token });
    const last = warned()[warned().length - 1]!;
    // Two lookups a request (read, then write of the answer) failed while the log was quiet.
    expect(last.suppressed).toBeGreaterThanOrEqual(50);
    expect(warned().length).toBeLessThanOrEqual(3);
  });
});
