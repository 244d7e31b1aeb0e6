import type { MutationResolvers } from '../../generated/graphql';
import { notFound } from '../../graphql/errors';
import { localIdOf } from '../../graphql/globalId';
import { updateCall, type CallPatch } from '../../queries/callWrites';
import { toDbEnum } from '../enums';
import { requireRole } from './access';
import { optionalText, requireSomeField } from './input';
import { write } from './write';

/** The bound the calls_notes_length constraint (0006) enforces; the summary gets the same. */
const MAX_TEXT = 10_000;

export const callMutations: Pick<MutationResolvers, 'updateCall'> = {
  updateCall: async (_root, { input }, ctx) => {
    requireRole(ctx.role, 'records');
    const id = localIdOf('Call', input.id, 'input.id');
    // Omitted: keep; null: clear. Both columns are nullable.
    const patch: CallPatch = {};
    if (input.outcome !== undefined) patch.outcome = input.outcome === null ? null : toDbEnum(input.outcome);
    if (input.sentiment !== undefined) patch.sentiment = input.sentiment === null ? null : toDbEnum(input.sentiment);
    if (input.summary !== undefined) patch.summary = optionalText(input.summary, 'input.summary', MAX_TEXT);
    if (input.notes !== undefined) patch.notes = optionalText(input.notes, 'input.notes', MAX_TEXT);
    requireSomeField(patch, 'outcome, sentiment, summary, notes');

    const row = await write(ctx, async (tx) => {
      const updated = await updateCall(tx, id, patch);
      if (!updated) throw notFound('Call', 'input.id');
      return updated;
    });
    ctx.loaders.callById.prime(row.id, row);
    return { call: row };
  },
};
