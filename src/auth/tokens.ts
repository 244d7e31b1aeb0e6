import { createSecretKey } from 'node:crypto';
import { SignJWT, errors, jwtVerify, type JWTVerifyResult } from 'jose';
import type { AuthConfig } from '../config/config';
import type { Role } from '../db/schema';
import { KeySourceUnavailableError, type JwksKeySet } from './jwks';

/**
 * Bearer JWTs. The organisation, user and role come only from a verified
 * token: `sub` (user id), `org` (organisation id), `role`. `exp` is required.
 */
export interface Principal {
  userId: string;
  orgId: string;
  role: Role;
}

const ROLES: readonly Role[] = ['admin', 'member', 'viewer'];
const BIGINT_ID = /^[1-9][0-9]{0,17}$/;
const CLOCK_TOLERANCE_SECONDS = 5;

/** The token itself is bad (malformed, bad signature, expired, wrong issuer or audience, unknown key): 401. */
export class InvalidTokenError extends Error {}

export interface TokenVerifier {
  verify(token: string): Promise<Principal>;
}

/**
 * Verification fails with exactly one of two errors a caller maps: InvalidTokenError
 * (401) or KeySourceUnavailableError (503). Anything else is a bug.
 * With `kind: 'jwks'` the keys come from `keySet` (src/auth/jwks.ts), which the
 * caller starts and closes.
 */
export function createTokenVerifier(config: AuthConfig, keySet?: JwksKeySet): TokenVerifier {
  const options = {
    algorithms: config.kind === 'hs256' ? ['HS256'] : ['RS256', 'ES256', 'EdDSA'],
    issuer: config.issuer,
    audience: config.audience,
    requiredClaims: ['exp', 'sub'],
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
  };
  let verifyJwt: (token: string) => Promise<JWTVerifyResult>;
  if (config.kind === 'hs256') {
    // Imported once: given raw bytes, jose builds a KeyObject on every verify (about 2 % of a cached answer's CPU).
    const key = createSecretKey(config.secret);
    verifyJwt = (token) => jwtVerify(token, key, options);
  } else if (keySet) verifyJwt = (token) => jwtVerify(token, keySet.getKey, options);
  else throw new Error('a JWKS verifier needs its key set');

  return {
    async verify(token) {
      try {
        const { payload } = await verifyJwt(token);
        const { sub, org, role } = payload as { sub?: unknown; org?: unknown; role?: unknown };
        if (typeof sub !== 'string' || !BIGINT_ID.test(sub)) throw new InvalidTokenError('token has no valid sub');
        if (typeof org !== 'string' || !BIGINT_ID.test(org)) throw new InvalidTokenError('token has no valid org');
        if (typeof role !== 'string' || !ROLES.includes(role as Role)) throw new InvalidTokenError('token has no valid role');
        return { userId: sub, orgId: org, role: role as Role };
      } catch (error) {
        if (error instanceof InvalidTokenError || error instanceof KeySourceUnavailableError) throw error;
        if (error instanceof errors.JWTExpired) throw new InvalidTokenError('token has expired');
        if (error instanceof errors.JOSEError) throw new InvalidTokenError('token is not valid');
        throw error;
      }
    },
  };
}

export interface SignTokenInput extends Principal {
  expiresInSeconds?: number;
}

/** Signs an HS256 token: for development, tests and the `npm run token` command. */
export async function signToken(secret: Uint8Array, config: { issuer: string; audience: string }, input: SignTokenInput): Promise<string> {
  return new SignJWT({ org: input.orgId, role: input.role })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(input.userId)
    .setIssuer(config.issuer)
    .setAudience(config.audience)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (input.expiresInSeconds ?? 12 * 3600))
    .sign(secret);
}

/** The token from an `Authorization: Bearer …` header; undefined when absent. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new InvalidTokenError('Authorization header must be "Bearer <token>"');
  return match[1];
}
