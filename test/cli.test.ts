import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { toGlobalId } from '../src/graphql/globalId';
import { testDatabaseUrl } from './support/db';
import { freePort } from './support/waiting';

/**
 * The commands a developer types, run as real processes: `npm start` (through
 * its entry point, on a fresh database) and `npm run token`.
 */

const TSX = path.join(__dirname, '..', 'node_modules', '.bin', 'tsx');
const START = path.join(__dirname, '..', 'src', 'cli', 'start.ts');
const TOKEN = path.join(__dirname, '..', 'src', 'cli', 'token.ts');

describe('npm start and npm run token', () => {
  let databaseUrl: string;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-cli-'));
  const env = () => ({ ...process.env, NODE_ENV: 'development', DATABASE_URL: databaseUrl, SWITCHBOARD_DATA_DIR: dataDir, LOG_LEVEL: 'info' });

  beforeAll(async () => {
    // A database of its own: start seeds demo data only into an empty database.
    const admin = new pg.Client({ connectionString: testDatabaseUrl() });
    await admin.connect();
    const name = `switchboard_cli_${process.pid}`;
    await admin.query(`drop database if exists ${name}`);
    await admin.query(`create database ${name}`);
    await admin.end();
    const url = new URL(testDatabaseUrl());
    url.pathname = `/${name}`;
    databaseUrl = url.toString();
  });

  it('start migrates, seeds the demo organisations, serves GraphiQL and the API, and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    // tsx as a loader in one process: the signal reaches our handler, not a wrapper's.
    const child = spawn(process.execPath, ['--import', 'tsx', START], { env: { ...env(), PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 90_000;
      while (!output.includes('Switchboard ready')) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`start did not become ready:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const ready = output.split('\n').find((line) => line.includes('Switchboard ready'))!;
      const token = /token \(acme admin\): (\S+?)"/.exec(ready)?.[1];
      expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
      expect(output).toMatch(/"organisations":\["acme","globex"\]/);

      const graphiql = await fetch(`http://127.0.0.1:${port}/graphiql`);
      expect(graphiql.status).toBe(200);
      const html = await graphiql.text();
      expect(html).toContain('/graphiql/assets/graphiql.min.js');
      expect(html).toContain(token!);
      expect(html).not.toMatch(/https?:\/\/(?!127\.0\.0\.1|localhost)[a-z]/i); // no CDN
      expect((await fetch(`http://127.0.0.1:${port}/graphiql/assets/graphiql.min.js`)).status).toBe(200);

      const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          query: `{ viewer { organisation { slug } } calls(first: 1) { totalCount } agents { totalCount } contacts { totalCount }
            completed: calls(first: 2, filter: { status: [COMPLETED] }) { nodes { providerConversation { conversationId summary } } } }`,
        }),
      });
      const body = (await response.json()) as {
        data: {
          viewer: { organisation: { slug: string } };
          calls: { totalCount: number };
          agents: { totalCount: number };
          contacts: { totalCount: number };
          completed: { nodes: { providerConversation: { conversationId: string; summary: string | null } | null }[] };
        };
      };
      expect(body.data.viewer.organisation.slug).toBe('acme');
      expect(body.data.calls.totalCount).toBeGreaterThan(15_000);
      expect(body.data.agents.totalCount).toBeGreaterThanOrEqual(5);
      expect(body.data.contacts.totalCount).toBeGreaterThan(1_500);
      // The demo's calls carry provider ids the local provider (started by npm start) answers for.
      expect(body.data.completed.nodes).toHaveLength(2);
      for (const node of body.data.completed.nodes) expect(node.providerConversation?.conversationId).toMatch(/^\S{20,}$/);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(output).toContain('"msg":"stopped"');
  }, 120_000);

  it('token prints only a JWT on stdout, for the requested organisation and role', async () => {
    const result = spawnSync(TSX, [TOKEN, '--org', 'globex', '--role', 'viewer'], { env: env(), encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const payload = JSON.parse(Buffer.from(result.stdout.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(payload).toMatchObject({ role: 'viewer', iss: 'switchboard', aud: 'switchboard-api' });
    expect(typeof payload.exp).toBe('number');
  }, 60_000);

  it('token fails with a message on stderr, and nothing on stdout, for an unknown organisation', () => {
    const result = spawnSync(TSX, [TOKEN, '--org', 'no-such-org'], { env: env(), encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('no organisation with slug "no-such-org"');
  }, 60_000);
});

describe('npm start on the embedded PostgreSQL (no DATABASE_URL)', () => {
  it('finishes a request in flight at SIGTERM before it stops PostgreSQL, then exits 0', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-cli-embedded-'));
    const port = await freePort();
    const pgPort = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: 'development',
      SWITCHBOARD_DATA_DIR: dataDir,
      EMBEDDED_PG_PORT: String(pgPort),
      PORT: String(port),
      LOG_LEVEL: 'info',
    };
    delete env.DATABASE_URL;
    const child = spawn(process.execPath, ['--import', 'tsx', START], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let locker: pg.Client | undefined;
    try {
      const deadline = Date.now() + 90_000;
      while (!output.includes('Switchboard ready')) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`start did not become ready:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const token = /token \(acme admin\): (\S+?)"/.exec(output)?.[1];
      const cluster = JSON.parse(readFileSync(path.join(dataDir, 'postgres', 'cluster.json'), 'utf8')) as { user: string; password: string };

      // A row lock held from outside keeps the mutation below in flight for as long as the spec wants.
      locker = new pg.Client({ host: '127.0.0.1', port: pgPort, user: cluster.user, password: cluster.password, database: 'switchboard' });
      locker.on('error', () => {});
      await locker.connect();
      await locker.query('begin');
      const { rows } = await locker.query<{ id: string }>(
        `select c.id from contacts c join organisations o on o.id = c.org_id where o.slug = 'acme' order by c.id limit 1 for update`,
      );
      const contactId = toGlobalId('Contact', rows[0]!.id);
      const mutation = fetch(`http://127.0.0.1:${port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          query: `mutation { updateContact(input: { id: "${contactId}", name: "Renamed during shutdown" }) { contact { name } } }`,
        }),
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      child.kill('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 500));
      await locker.query('commit');

      const reply = await mutation;
      const body = (await reply.json()) as { data?: { updateContact?: { contact?: { name?: string } } }; errors?: unknown[] };
      expect(body.errors).toBeUndefined();
      expect(reply.status).toBe(200);
      expect(body.data?.updateContact?.contact?.name).toBe('Renamed during shutdown');
    } finally {
      await locker?.end().catch(() => {});
      if (child.exitCode === null) child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(output).toContain('"msg":"stopped"');
    expect(output).not.toContain('terminating connection due to administrator command');
  }, 120_000);
});
