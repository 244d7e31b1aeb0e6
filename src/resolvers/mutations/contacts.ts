import type { MutationResolvers } from '../../generated/graphql';
import { notFound } from '../../graphql/errors';
import { localIdOf } from '../../graphql/globalId';
import { archiveContact, insertContact, updateContact, type ContactPatch, type NewContact } from '../../queries/contactWrites';
import { toDbEnum } from '../enums';
import { requireRole } from './access';
import { email, integerBetween, notNull, phone, requireSomeField, tags, text } from './input';
import { write } from './write';

const MAX_NAME = 200;

export const contactMutations: Pick<MutationResolvers, 'createContact' | 'updateContact' | 'archiveContact'> = {
  createContact: async (_root, { input }, ctx) => {
    requireRole(ctx.role, 'records');
    const contact: NewContact = {
      name: text(input.name, 'input.name', { max: MAX_NAME }),
      phone: phone(input.phone, 'input.phone'),
      email: email(input.email ?? null, 'input.email'),
      leadScore: integerBetween(input.leadScore ?? 0, 'input.leadScore', 0, 100),
      status: toDbEnum(input.status ?? 'NEW'),
      tags: tags(input.tags ?? [], 'input.tags'),
    };
    const row = await write(ctx, (tx) => insertContact(tx, contact));
    ctx.loaders.contactById.prime(row.id, row);
    return { contact: row };
  },

  updateContact: async (_root, { input }, ctx) => {
    requireRole(ctx.role, 'records');
    const id = localIdOf('Contact', input.id, 'input.id');
    const patch: ContactPatch = {};
    const name = notNull(input.name, 'input.name');
    if (name !== undefined) patch.name = text(name, 'input.name', { max: MAX_NAME });
    const phoneNumber = notNull(input.phone, 'input.phone');
    if (phoneNumber !== undefined) patch.phone = phone(phoneNumber, 'input.phone');
    if (input.email !== undefined) patch.email = email(input.email, 'input.email');
    const leadScore = notNull(input.leadScore, 'input.leadScore');
    if (leadScore !== undefined) patch.leadScore = integerBetween(leadScore, 'input.leadScore', 0, 100);
    const status = notNull(input.status, 'input.status');
    if (status !== undefined) patch.status = toDbEnum(status);
    const tagList = notNull(input.tags, 'input.tags');
    if (tagList !== undefined) patch.tags = tags(tagList, 'input.tags');
    requireSomeField(patch, 'name, phone, email, leadScore, status, tags');

    const row = await write(ctx, async (tx) => {
      const updated = await updateContact(tx, id, patch);
      if (!updated) throw notFound('Contact', 'input.id');
      return updated;
    });
    ctx.loaders.contactById.prime(row.id, row);
    return { contact: row };
  },

  archiveContact: async (_root, { input }, ctx) => {
    requireRole(ctx.role, 'records');
    const id = localIdOf('Contact', input.id, 'input.id');
    const row = await write(ctx, async (tx) => {
      const archived = await archiveContact(tx, id);
      if (!archived) throw notFound('Contact', 'input.id');
      return archived;
    });
    ctx.loaders.contactById.prime(row.id, row);
    return { contact: row };
  },
};
