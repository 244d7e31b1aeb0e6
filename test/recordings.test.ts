import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { RecordingsConfig } from '../src/config/config';
import type { Db } from '../src/db/database';
import { toGlobalId } from '../src/graphql/globalId';
import { ForeignRecordingError, createLocalSigner, createS3Signer, localSignature, type RecordingSigner } from '../src/recordings/signer';
import { openTestDb } from './support/db';
import { createAgent, createCalls, createOrg, type TestOrg } from './support/factories';
import { startTestServer, type TestServer } from './support/server';

type LocalRecordings = Extract<RecordingsConfig, { kind: 'local' }>;
type SignInput = Parameters<RecordingSigner['sign']>[0];

const localRecordings = (config: RecordingsConfig): LocalRecordings => {
  if (config.kind !== 'local') throw new Error('expected local recordings');
  return config;
};

/**
 * Recordings: signing is the only expensive thing about a recording, so it
 * happens only when `recordingUrl` is selected, once per call that has one;
 * the URLs it makes serve exactly one file, until they expire, and nothing else.
 */
describe('recordings: signed lazily, served only as signed', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let server: TestServer;
  let org: TestOrg;
  let token: string;
  let recordings: LocalRecordings;
  let firstCallId: string;
  const signed: SignInput[] = [];
  const audio = randomBytes(4096);
  const key = (org: TestOrg, name: string) => `orgs/${org.id}/recordings/${name}`;

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    // The real local signer, built from the server's own recordings config, behind a counter.
    let real: RecordingSigner | undefined;
    const counting: RecordingSigner = {
      sign(input) {
        signed.push(input);
        return real!.sign(input);
      },
    };
    server = await startTestServer({
      signer: counting,
      configure: (config) => {
        real = createLocalSigner(localRecordings(config.recordings));
        return config;
      },
    });
    recordings = localRecordings(server.config.recordings);
    org = await createOrg(db);
    token = await server.tokenFor(org);
    const agent = await createAgent(db, org.id);
    const callIds = await createCalls(
      db,
      org.id,
      Array.from({ length: 8 }, (_, i) => ({
        agentId: agent,
        startedAt: new Date(Date.UTC(2026, 3, 1, 9, i)),
        recordingKey: i % 3 === 0 ? key(org, `call-${i}.wav`) : null, // calls 0, 3 and 6
      })),
    );
    firstCallId = toGlobalId('Call', callIds[0]!);
    const file = path.join(recordings.dir, key(org, 'call-0.wav'));
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, audio);
  });

  afterAll(async () => {
    await server.close();
    await closeDb();
  });

  async function recordingUrls(ttl?: number): Promise<(string | null)[]> {
    const args = ttl === undefined ? '' : `(expiresInSeconds: ${ttl})`;
    const response = await server.graphql(`{ calls(orderBy: { direction: ASC }) { nodes { hasRecording recordingUrl${args} } } }`, { token });
    expect(response.body.errors).toBeUndefined();
    return (response.body.data.calls.nodes as { recordingUrl: string | null }[]).map((node) => node.recordingUrl);
  }

  /** A signed URL for call-0 (the one with a file on disk). */
  async function firstUrl(ttl = 900): Promise<URL> {
    return new URL((await recordingUrls(ttl))[0]!);
  }

  describe('lazy signing', () => {
    beforeEach(() => {
      signed.length = 0;
    });

    it('a list of calls that does not select recordingUrl signs nothing', async () => {
      const response = await server.graphql(`{ calls { nodes { id hasRecording summary agent { name } } } }`, { token });
      expect(response.body.errors).toBeUndefined();
      expect((response.body.data.calls.nodes as { hasRecording: boolean }[]).filter((n) => n.hasRecording)).toHaveLength(3);
      expect(signed).toHaveLength(0);
    });

    it('selecting recordingUrl signs exactly once per call that has a recording, and never for one without', async () => {
      const urls = await recordingUrls();
      expect(urls.map((url) => url !== null)).toEqual([true, false, false, true, false, false, true, false]);
      expect(signed).toHaveLength(3);
      expect(signed.map((input) => input.key)).toEqual([0, 3, 6].map((i) => key(org, `call-${i}.wav`)));
      for (const input of signed) {
        expect(input.orgId).toBe(org.id);
        expect(input.expiresInSeconds).toBe(900); // the configured default
      }
      for (const [index, i] of [0, 3, 6].entries()) {
        expect(new URL(urls[i]!).pathname).toBe(`/recordings/${signed[index]!.key}`);
      }
    });

    it('a nested list signs only the calls it returns with recordings', async () => {
      const response = await server.graphql(
        `{ agents { nodes { calls(first: 4, orderBy: { direction: ASC }) { nodes { recordingUrl(expiresInSeconds: 120) } } } } }`,
        { token },
      );
      expect(response.body.errors).toBeUndefined();
      expect(signed).toHaveLength(2); // calls 0 and 3 of the first four
      expect(signed.every((input) => input.expiresInSeconds === 120)).toBe(true);
    });

    it.each([59, 0, -5, 86_401])('expiresInSeconds %i is BAD_USER_INPUT and signs nothing', async (ttl) => {
      const response = await server.graphql(`query ($id: ID!, $ttl: Int) { call(id: $id) { recordingUrl(expiresInSeconds: $ttl) } }`, {
        token,
        variables: { id: firstCallId, ttl },
      });
      expect(response.body.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
      expect(response.body.errors![0]!.message).toBe('expiresInSeconds must be between 60 and 86400');
      expect(signed).toHaveLength(0);
    });

    it('expiresInSeconds at the bounds, 60 and 86400, is accepted and sets the expiry', async () => {
      for (const ttl of [60, 86_400]) {
        const url = await firstUrl(ttl);
        const expires = Number(url.searchParams.get('expires'));
        expect(Math.abs(expires - (Math.floor(Date.now() / 1000) + ttl))).toBeLessThanOrEqual(2);
      }
    });
  });

  describe('serving a signed URL', () => {
    it('serves the file with its audio type and bytes', async () => {
      const response = await fetch(await firstUrl(300));
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('audio/wav');
      expect(response.headers.get('accept-ranges')).toBe('bytes');
      expect(response.headers.get('cache-control')).toMatch(/^private, max-age=(29\d|300)$/);
      expect(Buffer.from(await response.arrayBuffer()).equals(audio)).toBe(true);
    });

    it('serves a byte range as 206 Partial Content, as audio players seek', async () => {
      const url = await firstUrl();
      const middle = await fetch(url, { headers: { range: 'bytes=100-199' } });
      expect(middle.status).toBe(206);
      expect(middle.headers.get('content-range')).toBe(`bytes 100-199/${audio.length}`);
      expect(Buffer.from(await middle.arrayBuffer()).equals(audio.subarray(100, 200))).toBe(true);
      const tail = await fetch(url, { headers: { range: 'bytes=-10' } });
      expect(tail.status).toBe(206);
      expect(Buffer.from(await tail.arrayBuffer()).equals(audio.subarray(-10))).toBe(true);
      const beyond = await fetch(url, { headers: { range: `bytes=${audio.length}-` } });
      expect(beyond.status).toBe(416);
    });

    it('a validly signed URL for a file that is not there is a 404 JSON error', async () => {
      const url = new URL((await recordingUrls())[3]!);
      const response = await fetch(url);
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ error: { code: 'RECORDING_NOT_FOUND', message: 'recording not found' } });
    });
  });

  describe('refusing URLs that were not signed as presented', () => {
    async function expect403(url: URL | string, message = 'recording URL is not valid') {
      const response = await fetch(url);
      expect(response.status).toBe(403);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      const code = message === 'recording URL has expired' ? 'RECORDING_URL_EXPIRED' : 'RECORDING_URL_INVALID';
      expect(await response.json()).toEqual({ error: { code, message } });
    }

    it('a tampered signature is a 403', async () => {
      const url = await firstUrl();
      const signature = url.searchParams.get('signature')!;
      url.searchParams.set('signature', `${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`);
      await expect403(url);
      url.searchParams.delete('signature');
      await expect403(url);
    });

    it('an extended expiry is a 403', async () => {
      const url = await firstUrl(60);
      url.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 86_400));
      await expect403(url);
    });

    it("a key edited to another organisation's prefix is a 403", async () => {
      const other = await createOrg(db);
      const stolen = path.join(recordings.dir, key(other, 'call-0.wav'));
      mkdirSync(path.dirname(stolen), { recursive: true });
      writeFileSync(stolen, 'not yours');
      const url = await firstUrl();
      url.pathname = url.pathname.replace(`/orgs/${org.id}/`, `/orgs/${other.id}/`);
      await expect403(url);
    });

    it('a path that climbs out of the key is a 403', async () => {
      const url = await firstUrl();
      const expires = Number(url.searchParams.get('expires'));
      const sneaky = `orgs/${org.id}/recordings/%2e%2e/%2e%2e/%2e%2e/secret.wav`;
      const signature = localSignature(recordings.secret, `orgs/${org.id}/recordings/../../../secret.wav`, expires);
      // Sent raw: fetch would normalise the dot segments away before they reached the server.
      const raw = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        http
          .get(`${server.url}/recordings/${sneaky}?expires=${expires}&signature=${signature}`, (res) => {
            let body = '';
            res.on('data', (chunk: Buffer) => (body += chunk.toString()));
            res.on('end', () => resolve({ status: res.statusCode!, body }));
          })
          .on('error', reject);
      });
      expect(raw).toEqual({ status: 403, body: JSON.stringify({ error: { code: 'RECORDING_URL_INVALID', message: 'recording URL is not valid' } }) });
    });

    it('an expired URL is a 403 saying so, even when its signature is genuine', async () => {
      const objectKey = key(org, 'call-0.wav');
      const past = Math.floor(Date.now() / 1000) - 30;
      await expect403(
        `${server.url}/recordings/${objectKey}?expires=${past}&signature=${localSignature(recordings.secret, objectKey, past)}`,
        'recording URL has expired',
      );
      // The real signer asked for a lifetime already over produces the same.
      const signer = createLocalSigner(recordings);
      const stale = await signer.sign({ orgId: org.id, key: objectKey, expiresInSeconds: -60, origin: server.url });
      await expect403(stale, 'recording URL has expired');
      // Control: the same signer with a live lifetime is served.
      const fresh = await signer.sign({ orgId: org.id, key: objectKey, expiresInSeconds: 60, origin: server.url });
      expect((await fetch(fresh)).status).toBe(200);
    });

    it('a URL signed with another secret is a 403', async () => {
      const forged = createLocalSigner({ ...recordings, secret: randomBytes(32) });
      await expect403(await forged.sign({ orgId: org.id, key: key(org, 'call-0.wav'), expiresInSeconds: 600, origin: server.url }));
    });
  });

  describe('S3 signer', () => {
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY, token: process.env.AWS_SESSION_TOKEN };
    const s3 = () =>
      createS3Signer({
        kind: 's3',
        bucket: 'switchboard-recordings',
        region: 'eu-west-1',
        endpoint: 'http://127.0.0.1:9000',
        forcePathStyle: true,
        defaultExpiresInSeconds: 900,
      });

    beforeAll(() => {
      process.env.AWS_ACCESS_KEY_ID = 'AKIATESTSWITCHBOARD';
      process.env.AWS_SECRET_ACCESS_KEY = 'test-secret-access-key-for-switchboard';
      delete process.env.AWS_SESSION_TOKEN;
    });

    afterAll(() => {
      for (const [name, value] of [
        ['AWS_ACCESS_KEY_ID', saved.id],
        ['AWS_SECRET_ACCESS_KEY', saved.secret],
        ['AWS_SESSION_TOKEN', saved.token],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    });

    it('presigns a path-style GET on the endpoint with the requested lifetime', async () => {
      const objectKey = key(org, 'call-0.wav');
      const url = new URL(await s3().sign({ orgId: org.id, key: objectKey, expiresInSeconds: 600, origin: 'http://unused' }));
      expect(`${url.origin}${url.pathname}`).toBe(`http://127.0.0.1:9000/switchboard-recordings/${objectKey}`);
      expect(url.searchParams.get('X-Amz-Expires')).toBe('600');
      expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
      expect(url.searchParams.get('X-Amz-Credential')).toMatch(/^AKIATESTSWITCHBOARD\/\d{8}\/eu-west-1\/s3\/aws4_request$/);
    });

    it('refuses a key outside the organisation prefix', async () => {
      const signer = s3();
      for (const foreign of [`orgs/${Number(org.id) + 1}/recordings/x.wav`, `orgs/${org.id}/../other/x.wav`, `recordings/x.wav`]) {
        await expect(signer.sign({ orgId: org.id, key: foreign, expiresInSeconds: 600, origin: '' })).rejects.toBeInstanceOf(ForeignRecordingError);
      }
    });

    it('through the API, recordingUrl(expiresInSeconds) becomes X-Amz-Expires', async () => {
      const s3Server = await startTestServer({ signer: s3() });
      try {
        const response = await s3Server.graphql(
          `{ calls(first: 1, orderBy: { direction: ASC }) { nodes { id recordingUrl(expiresInSeconds: 3600) } } }`,
          {
            token: await s3Server.tokenFor(org),
          },
        );
        expect(response.body.errors).toBeUndefined();
        const url = new URL(response.body.data.calls.nodes[0].recordingUrl as string);
        expect(url.pathname).toBe(`/switchboard-recordings/${key(org, 'call-0.wav')}`);
        expect(url.searchParams.get('X-Amz-Expires')).toBe('3600');
        expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
      } finally {
        await s3Server.close();
      }
    });
  });

  it('the call id in a list and the signed key agree (no cross-wiring between calls)', async () => {
    const response = await server.graphql(`{ calls(orderBy: { direction: ASC }) { nodes { id recordingUrl } } }`, { token });
    const rows = await db.selectFrom('calls').select(['id', 'recording_key']).where('org_id', '=', org.id).execute();
    const keyById = new Map(rows.map((row) => [toGlobalId('Call', row.id), row.recording_key]));
    for (const node of response.body.data.calls.nodes as { id: string; recordingUrl: string | null }[]) {
      const expected = keyById.get(node.id);
      expect(node.recordingUrl === null ? null : new URL(node.recordingUrl).pathname).toBe(expected ? `/recordings/${expected}` : null);
    }
  });
});
