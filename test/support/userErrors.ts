import type { GraphQLResponse } from './server';

/** The selection every mutation spec adds to its payload. */
export const USER_ERRORS = 'userErrors { field message code }';

/**
 * A mutation refused for its input: HTTP 200, no top-level errors, exactly one
 * userError with the given code at the given path (`input.tags[1]` →
 * ["input", "tags", "1"]; null for the input as a whole), and every other
 * payload field null or empty.
 */
export function expectUserError(response: GraphQLResponse, mutation: string, code: string, argument: string | null, message?: RegExp): void {
  expect(response.status).toBe(200);
  expect(response.body.errors).toBeUndefined();
  const payload = response.body.data[mutation] as Record<string, unknown>;
  expect(payload.userErrors).toEqual([
    {
      field: argument === null ? null : argument.split(/[.[\]]/).filter((part) => part !== ''),
      code,
      message: message ? expect.stringMatching(message) : expect.any(String),
    },
  ]);
  for (const [key, value] of Object.entries(payload)) {
    if (key !== 'userErrors') expect([key, value]).toEqual([key, Array.isArray(value) ? [] : null]);
  }
}

/** A value that is not of its GraphQL type: refused before execution, 400 BAD_USER_INPUT, no data. */
export function expectTypeRefusal(response: GraphQLResponse, mentions: string): void {
  expect(response.status).toBe(400);
  expect(response.body.data).toBeUndefined();
  expect(response.body.errors).toHaveLength(1);
  expect(response.body.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
  expect(response.body.errors![0]!.message).toContain(mentions);
}
