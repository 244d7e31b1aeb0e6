import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type JWK, type KeyLike } from 'jose';

/**
 * An identity provider's key endpoint that a spec controls: a real HTTP server
 * on loopback serving a JWKS, which can be made to hang (accept the request
 * and never answer), answer 500, answer malformed JSON, or rotate its keys.
 */
export type JwksMode = 'serve' | 'hang' | 'error' | 'malformed';

export interface JwksServer {
  url: string;
  mode: JwksMode;
  /** Requests received, answered or not. */
  requests: number;
  /** Requests accepted and not answered (mode `hang`) whose connection is still open. */
  hanging(): number;
  /** The set served from now on. */
  publish(...signers: Signer[]): void;
  close(): Promise<void>;
}

export async function startJwksServer(...signers: Signer[]): Promise<JwksServer> {
  let keys: JWK[] = signers.map((signer) => signer.jwk);
  const hung = new Set<http.ServerResponse>();
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    state.requests += 1;
    switch (state.mode) {
      case 'hang':
        hung.add(res);
        res.once('close', () => hung.delete(res));
        return;
      case 'error':
        res.writeHead(500, { 'content-type': 'text/plain' }).end('upstream exploded');
        return;
      case 'malformed':
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys": [');
        return;
      case 'serve':
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
    }
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const state: JwksServer = {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    mode: 'serve',
    requests: 0,
    hanging: () => hung.size,
    publish(...next) {
      keys = next.map((signer) => signer.jwk);
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
  return state;
}

/** A signing key of the identity provider: its public JWK (with `kid`) and a way to mint tokens. */
export interface Signer {
  kid: string;
  alg: 'RS256' | 'ES256';
  jwk: JWK;
  sign(claims: { sub: string; org: string; role: string }, options?: TokenOptions): Promise<string>;
}

export interface TokenOptions {
  issuer?: string;
  audience?: string;
  /** Seconds from now; negative for an expired token. */
  expiresIn?: number;
  /** The `kid` header; the signer's own by default. */
  kid?: string;
}

export const ISSUER = 'https://id.example.test/';
export const AUDIENCE = 'switchboard-api';

export async function createSigner(kid: string, alg: Signer['alg'] = 'RS256'): Promise<Signer> {
  const { publicKey, privateKey } = await generateKeyPair(alg);
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return {
    kid,
    alg,
    jwk,
    sign: (claims, options = {}) => signWith(privateKey, alg, options.kid ?? kid, claims, options),
  };
}

function signWith(key: KeyLike, alg: string, kid: string, claims: { sub: string; org: string; role: string }, options: TokenOptions) {
  return new SignJWT({ org: claims.org, role: claims.role })
    .setProtectedHeader({ alg, kid, typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (options.expiresIn ?? 3600))
    .sign(key);
}
