import type { MutationResolvers } from '../../generated/graphql';
import { archiveContact, insertContact, updateContact, type ContactPatch, type NewContact } from '../../queries/contactWrites';
import { toDbEnum } from '../enums';
import { requireRole } from './access';
import { email, integerBetween, notNull, requireSomeField, tags, text } from './input';
import { InputCheck, refuse, withUserErrors } from './userErrors';
import { write } from './write';

const MAX_NAME = 200;

export const contactMutations: Pick<MutationResolvers, 'createContact' | 'updateContact' | 'archiveContact'> = {
  createContact: async (_root, { input }, ctx) => {
    requireRole(ctx.role, 'records');
    return withUserErrors({ contact: null }, async () => {
      const check = new InputCheck();
      const contact: NewContact = {
        name: text(check, input.name, 'input.name', { max: MAX_NAME }),
        phone: input.phone,
        email: email(check, input.email ?? null, 'input.email'),
        leadScore: integerBetween(check, input.leadScore ?? 0, 'input.leadScore', 0, 100),
        status: toDbEnum(input.status ?? 'NEW'),
        tags: tags(check, input.tags ?? [], 'input.tags'),
      };
      check.assertValid();
      const row = await write(ctx, (tx) => insertContact(tx, contact));
      ctx.loaders.contactById.prime(row.id, row);
      return { contact: row };
    });
  },

  updateContact: async (_root, { input }, ctx) => {
    requireRole(ctx.role, 'records');
    return withUserErrors({ contact: null }, async () => {
      const check = new InputCheck();
      const id = check.id('Contact', input.id, 'input.id');
      const patch: ContactPatch = {};
      const name = notNull(check, input.name, 'input.name');
      if (name !== undefined) patch.name = text(check, name, 'input.name', { max: MAX_NAME });
      const phone = notNull(check, input.phone, 'input.phone');
      if (phone !== undefined) patch.phone = phone;
      if (input.email !== undefined) patch.email = email(check, input.email, 'input.email');
      const leadScore = notNull(check, input.leadScore, 'input.leadScore');
      if (leadScore !== undefined) patch.leadScore = integerBetween(check, leadScore, 'input.leadScore', 0, 100);
      const status = notNull(check, input.status, 'input.status');
      if (status !== undefined) patch.status = toDbEnum(status);
      const tagList = notNull(check, input.tags, 'input.tags');
      if (tagList !== undefined) patch.tags = tags(check, tagList, 'input.tags');
      requireSomeField(check, patch, 'name, phone, email, leadScore, status, tags');
      check.assertValid();

      const row = await write(ctx, async (tx) => {
        const updated = await updateContact(tx, id, patch);
        if (!updated) throw refuse('input.id', 'NOT_FOUND', 'Contact not found');
        return updated;
      });
      ctx.loaders.contactById.prime(row.id, row);
      return { contact: row };
    });
  },

  archiveContact: async (_root, { input }, ctx) => {
    requireRole(ctx.role, 'records');
    return withUserErrors({ contact: null }, async () => {
      const check = new InputCheck();
      const id = check.id('Contact', input.id, 'input.id');
      check.assertValid();
      const row = await write(ctx, async (tx) => {
        const archived = await archiveContact(tx, id);
        if (!archived) throw refuse('input.id', 'NOT_FOUND', 'Contact not found');
        return archived;
      });
      ctx.loaders.contactById.prime(row.id, row);
      return { contact: row };
    });
  },
};
