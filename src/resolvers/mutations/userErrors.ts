import type { UserError, UserErrorCode } from '../../generated/graphql';
import { parseGlobalId, type NodeType } from '../../graphql/globalId';

/**
 * Validation failures of a mutation's input travel in its payload's
 * `userErrors`, where a form can bind each to a field; top-level errors stay
 * for what no form can fix (authentication, role, server faults). A failure
 * is thrown as a RefusedInput, so a rule checked inside the transaction rolls
 * it back exactly like any other error, and caught by `withUserErrors`.
 */
export class RefusedInput extends Error {
  constructor(readonly userErrors: UserError[]) {
    super(userErrors.map((error) => error.message).join('; '));
    this.name = 'RefusedInput';
  }
}

/** `input.tags[3]` → ["input", "tags", "3"]: the path a client walks in its own variables. */
export function fieldPath(argument: string): string[] {
  return argument.split(/[.[\]]/).filter((part) => part !== '');
}

export function userError(argument: string | null, code: UserErrorCode, message: string): UserError {
  return { field: argument === null ? null : fieldPath(argument), code, message };
}

/** One failure found after the input passed its checks (an id not found, a row in the wrong state). */
export function refuse(argument: string | null, code: UserErrorCode, message: string): RefusedInput {
  return new RefusedInput([userError(argument, code, message)]);
}

/**
 * Collects every rule the input breaks, so a form shows all of its mistakes
 * at once instead of one per round trip. Checks always return a value of the
 * right type; `assertValid` throws before that value can reach a statement.
 */
export class InputCheck {
  private readonly errors: UserError[] = [];

  fail(argument: string | null, code: UserErrorCode, message: string): void {
    this.errors.push(userError(argument, code, message));
  }

  /** The local id of a global id that must be of `type`; '' (never used) after a failure. */
  id(type: NodeType, globalId: string, argument: string): string {
    const parsed = parseGlobalId(globalId);
    if (parsed?.type === type) return parsed.localId;
    this.fail(argument, 'INVALID_ID', `${argument} is not a valid ${type} id`);
    return '';
  }

  get valid(): boolean {
    return this.errors.length === 0;
  }

  assertValid(): void {
    if (this.errors.length > 0) throw new RefusedInput([...this.errors]);
  }
}

/**
 * Runs a mutation: its payload with empty `userErrors`, or, when the input was
 * refused, `failed` (the payload's fields as null) with the errors. Anything
 * else (FORBIDDEN, a database failure) is rethrown as a top-level error.
 */
export async function withUserErrors<Payload extends object, Failed extends object>(
  failed: Failed,
  run: () => Promise<Payload>,
): Promise<(Payload | Failed) & { userErrors: UserError[] }> {
  try {
    return { ...(await run()), userErrors: [] };
  } catch (error) {
    if (error instanceof RefusedInput) return { ...failed, userErrors: error.userErrors };
    throw error;
  }
}
