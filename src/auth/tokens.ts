import { createSecretKey } from 'node:crypto';
import { SignJWT, errors, jwtVerify, type JWTVerifyResult } from 'jose';
import { LRUCache } from 'lru-cache';
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
/** Verified HS256 tokens remembered (one per active session is plenty). */
const VERIFIED_TOKENS = 10_000;
/** lru-cache measures TTLs on a monotonic clock; re-checking at least hourly keeps a wall-clock step from stretching one far. */
const MAX_VERIFIED_TTL_MS = 3_600_000;

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
  // HS256 only: with one fixed secret, verifying the same token again gives the same answer until it expires, so
  // a dashboard's repeated requests skip the HMAC and the claim checks. A JWKS token is verified every time: its
  // key may be rotated out at the issuer, and that must show at the next key-set refresh.
  let verified: LRUCache<string, Principal> | undefined;
  if (config.kind === 'hs256') {
    // Imported once: given raw bytes, jose builds a KeyObject on every verify (about 2 % of a cached answer's CPU).
    const key = createSecretKey(config.secret);
    verifyJwt = (token) => jwtVerify(token, key, options);
    verified = new LRUCache<string, Principal>({ max: VERIFIED_TOKENS });
  } else if (keySet) verifyJwt = (token) => jwtVerify(token, keySet.getKey, options);
  else throw new Error('a JWKS verifier needs its key set');

  return {
    async verify(token) {
      const known = verified?.get(token);
      if (known) return known;
      try {
        const { payload } = await verifyJwt(token);
        const { sub, org, role } = payload as { sub?: unknown; org?: unknown; role?: unknown };
        if (typeof sub !== 'string' || !BIGINT_ID.test(sub)) throw new InvalidTokenError('token has no valid sub');
        if (typeof org !== 'string' || !BIGINT_ID.test(org)) throw new InvalidTokenError('token has no valid org');
        if (typeof role !== 'string' || !ROLES.includes(role as Role)) throw new InvalidTokenError('token has no valid role');
        const principal: Principal = { userId: sub, orgId: org, role: role as Role };
        // Kept exactly as long as jose would accept it: until `exp` plus the clock tolerance, measured on the same clock.
        const ttl = (payload.exp ?? 0) * 1000 + CLOCK_TOLERANCE_SECONDS * 1000 - Date.now();
        if (verified && ttl > 0) verified.set(token, principal, { ttl: Math.min(ttl, MAX_VERIFIED_TTL_MS) });
        return principal;
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
