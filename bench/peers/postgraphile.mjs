// The benchmark's peer: PostGraphile v5 (Amber preset) over the bench database,
// as an experienced user would run it in production: no GraphiQL, no watch
// mode, no explain, pool of 10. Run by the Node 22 binary installed next to
// it (PostGraphile 5 needs Node >= 22), never by the server's Node.
//
// Usage: node postgraphile.mjs, with DATABASE_URL, PORT and PG_POOL_SIZE.
// No RLS and no JWT: PostGraphile connects as the same database user as
// Switchboard, and the operations scope themselves with `condition: {orgId}`,
// which is what a read comparison needs (see BENCHMARKS.md).
import { createServer } from 'node:http';
import { postgraphile } from 'postgraphile';
import { makePgService } from 'postgraphile/adaptors/pg';
import { grafserv } from 'postgraphile/grafserv/node';
import { PostGraphileAmberPreset } from 'postgraphile/presets/amber';

process.env.NODE_ENV ??= 'production';
process.env.GRAPHILE_ENV ??= 'production';
const port = Number(process.env.PORT);
const preset = {
  extends: [PostGraphileAmberPreset],
  pgServices: [
    makePgService({
      connectionString: process.env.DATABASE_URL,
      schemas: ['public'],
      poolConfig: { max: Number(process.env.PG_POOL_SIZE ?? 10) },
    }),
  ],
  grafserv: { port, graphqlPath: '/graphql', graphiql: false, watch: false },
  grafast: { explain: false },
};

const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
// The handler (not serv.addTo) so the bench's liveness probe can be answered first.
const handler = serv.createHandler();
const server = createServer((req, res) => {
  if (req.url === '/health/live') {
    res.end('{"status":"ok"}');
    return;
  }
  handler(req, res, () => {
    res.writeHead(404).end();
  });
});
server.listen(port, '127.0.0.1');
const stop = () => {
  server.close();
  void pgl.release().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
