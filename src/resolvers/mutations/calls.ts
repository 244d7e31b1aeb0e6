import type { MutationResolvers } from '../../generated/graphql';
import { updateCall, type CallPatch } from '../../queries/callWrites';
import { toDbEnum } from '../enums';
import { requireRole } from './access';
import { optionalText, requireSomeField } from './input';
import { InputCheck, refuse, withUserErrors } from './userErrors';
import { write } from './write';

/** The bound the calls_notes_length constraint (0006) enforces; the summary gets the same. */
const MAX_TEXT = 10_000;

export const callMutations: Pick<MutationResolvers, 'updateCall'> = {
  updateCall: async (_root, { input }, ctx) => {
    requireRole(ctx.role, 'records');
    return withUserErrors({ call: null }, async () => {
      const check = new InputCheck();
      const id = check.id('Call', input.id, 'input.id');
      // Omitted: keep; null: clear. Both columns are nullable.
      const patch: CallPatch = {};
      if (input.outcome !== undefined) patch.outcome = input.outcome === null ? null : toDbEnum(input.outcome);
      if (input.sentiment !== undefined) patch.sentiment = input.sentiment === null ? null : toDbEnum(input.sentiment);
      if (input.summary !== undefined) patch.summary = optionalText(check, input.summary, 'input.summary', MAX_TEXT);
      if (input.notes !== undefined) patch.notes = optionalText(check, input.notes, 'input.notes', MAX_TEXT);
      requireSomeField(check, patch, 'outcome, sentiment, summary, notes');
      check.assertValid();

      const row = await write(ctx, async (tx) => {
        const updated = await updateCall(tx, id, patch);
        if (!updated) throw refuse('input.id', 'NOT_FOUND', 'Call not found');
        return updated;
      });
      ctx.loaders.callById.prime(row.id, row);
      return { call: row };
    });
  },
};
