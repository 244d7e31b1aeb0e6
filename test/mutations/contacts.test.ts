import type { Db } from '../../src/db/database';
import { toGlobalId } from '../../src/graphql/globalId';
import { openTestDb } from '../support/db';
import { createAgent, createContact, createOrg, type TestOrg } from '../support/factories';
import { orgSnapshot } from '../support/snapshot';
import { startTestServer, type TestServer } from '../support/server';
import { expectTypeRefusal, expectUserError, USER_ERRORS } from '../support/userErrors';

/**
 * Contacts: members and admins create, edit and archive them. Every rule is
 * checked before anything is written and names the input that broke it.
 */
describe('mutations: contacts', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let server: TestServer;
  let org: TestOrg;
  let member: string;

  const FIELDS = 'id name phone email leadScore tier status tags createdAt updatedAt';
  const CREATE = `mutation ($input: CreateContactInput!) { createContact(input: $input) { contact { ${FIELDS} } ${USER_ERRORS} } }`;
  const UPDATE = `mutation ($input: UpdateContactInput!) { updateContact(input: $input) { contact { ${FIELDS} } ${USER_ERRORS} } }`;
  const ARCHIVE = `mutation ($input: ArchiveContactInput!) { archiveContact(input: $input) { contact { ${FIELDS} } ${USER_ERRORS} } }`;
  const READ = `query ($id: ID!) { contact(id: $id) { ${FIELDS} } }`;

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    server = await startTestServer();
    org = await createOrg(db);
    member = await server.tokenFor(org, 'member');
  });

  afterAll(async () => {
    await server.close();
    await closeDb();
  });

  const send = (query: string, input: Record<string, unknown>) => server.graphql(query, { token: member, variables: { input } });

  describe('createContact', () => {
    it('creates a contact that reads back by id and in the list, with trimmed name and de-duplicated tags', async () => {
      const response = await send(CREATE, {
        name: '  Dana Scully ',
        phone: '+14155550123',
        email: 'dana@example.com',
        leadScore: 72,
        status: 'QUALIFIED',
        tags: ['vip', ' dental ', 'vip'],
      });
      expect(response.body.errors).toBeUndefined();
      const contact = response.body.data.createContact.contact;
      expect(contact).toEqual({
        id: expect.any(String),
        name: 'Dana Scully',
        phone: '+14155550123',
        email: 'dana@example.com',
        leadScore: 72,
        tier: 'HOT',
        status: 'QUALIFIED',
        tags: ['vip', 'dental'],
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      const read = await server.graphql(READ, { token: member, variables: { id: contact.id } });
      expect(read.body.data.contact).toEqual(contact);
      const list = await server.graphql(`{ contacts(search: "scully") { nodes { id } } }`, { token: member });
      expect(list.body.data.contacts.nodes).toEqual([{ id: contact.id }]);
    });

    it('defaults: no email, lead score 0 (COLD), status NEW, no tags', async () => {
      const response = await send(CREATE, { name: 'Fox', phone: '+14155550124' });
      expect(response.body.errors).toBeUndefined();
      expect(response.body.data.createContact.contact).toMatchObject({ email: null, leadScore: 0, tier: 'COLD', status: 'NEW', tags: [] });
    });

    const valid = { name: 'Valid Name', phone: '+14155550199' };
    it.each([
      ['a blank name', 'input.name', 'BLANK', { name: '   ' }, /must not be empty/],
      ['a name over 200 characters', 'input.name', 'TOO_LONG', { name: 'x'.repeat(201) }, /at most 200/],
      ['an email over 254 characters', 'input.email', 'TOO_LONG', { email: `${'d'.repeat(243)}@example.com` }, /at most 254/],
      ['a lead score below 0', 'input.leadScore', 'OUT_OF_RANGE', { leadScore: -1 }, /from 0 to 100/],
      ['a lead score above 100', 'input.leadScore', 'OUT_OF_RANGE', { leadScore: 101 }, /from 0 to 100/],
      ['a blank tag', 'input.tags[1]', 'BLANK', { tags: ['ok', ' '] }, /must not be empty/],
      ['a tag over 50 characters', 'input.tags[0]', 'TOO_LONG', { tags: ['t'.repeat(51)] }, /at most 50/],
      ['more than 20 tags', 'input.tags', 'TOO_MANY', { tags: Array.from({ length: 21 }, (_, i) => `tag${i}`) }, /at most 20/],
    ])('refuses %s as a userError at %s (%s), and writes nothing', async (_case, argument, code, override, message) => {
      const before = await orgSnapshot(db, org.id);
      const response = await send(CREATE, { ...valid, ...override });
      expectUserError(response, 'createContact', code, argument, message);
      expect(await orgSnapshot(db, org.id)).toEqual(before);
    });

    it('reports every broken rule of one input at once, each at its own field', async () => {
      const before = await orgSnapshot(db, org.id);
      const response = await send(CREATE, { ...valid, name: ' ', leadScore: 101, tags: ['ok', ''] });
      expect(response.body.errors).toBeUndefined();
      expect(response.body.data.createContact).toEqual({
        contact: null,
        userErrors: [
          { field: ['input', 'name'], code: 'BLANK', message: expect.any(String) },
          { field: ['input', 'leadScore'], code: 'OUT_OF_RANGE', message: expect.any(String) },
          { field: ['input', 'tags', '1'], code: 'BLANK', message: expect.any(String) },
        ],
      });
      expect(await orgSnapshot(db, org.id)).toEqual(before);
    });

    it.each([
      ['a phone number that is not E.164', 'input.phone', { phone: '415-555-0199' }],
      ['a phone number too short', 'input.phone', { phone: '+123456' }],
      ['a phone number with a space inside', 'input.phone', { phone: '+1 4155550199' }],
      ['a phone number with surrounding spaces', 'input.phone', { phone: ' +14155550199' }],
      ['an email without a domain', 'input.email', { email: 'dana@' }],
      ['an email with two @', 'input.email', { email: 'two@@example.com' }],
    ])('refuses %s in variables by its scalar type, before execution, as BAD_USER_INPUT naming %s', async (_case, argument, override) => {
      const before = await orgSnapshot(db, org.id);
      expectTypeRefusal(await send(CREATE, { ...valid, ...override }), `"${argument}"`);
      expect(await orgSnapshot(db, org.id)).toEqual(before);
    });

    it.each([
      ['phone', 'phone: "415-555-0199"', 'PhoneNumber!'],
      ['email', 'phone: "+14155550199", email: "dana@"', 'EmailAddress'],
    ])('refuses a bad %s written inline exactly like one in variables: BAD_USER_INPUT before execution', async (_field, fields, type) => {
      const response = await server.graphql(`mutation { createContact(input: { name: "Inline", ${fields} }) { contact { id } ${USER_ERRORS} } }`, {
        token: member,
      });
      expectTypeRefusal(response, `"${type}"`);
    });

    it('refuses a missing required field before execution, as BAD_USER_INPUT naming it', async () => {
      const before = await orgSnapshot(db, org.id);
      const response = await send(CREATE, { name: 'No Phone' });
      expect(response.status).toBe(400);
      expect(response.body.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
      expect(response.body.errors![0]!.message).toContain('phone');
      expect(await orgSnapshot(db, org.id)).toEqual(before);
    });
  });

  describe('updateContact', () => {
    let id: string;
    let original: Record<string, unknown>;

    beforeAll(async () => {
      id = toGlobalId(
        'Contact',
        await createContact(db, org.id, { name: 'Walter Skinner', phone: '+12025550100', email: 'ws@example.com', leadScore: 30 }),
      );
      original = (await server.graphql(READ, { token: member, variables: { id } })).body.data.contact;
    });

    it('changes only the given fields and advances updatedAt', async () => {
      const response = await send(UPDATE, { id, name: 'Walter S. Skinner', leadScore: 45, tags: ['fbi'] });
      expect(response.body.errors).toBeUndefined();
      const contact = response.body.data.updateContact.contact;
      expect(contact).toEqual({
        ...original,
        name: 'Walter S. Skinner',
        leadScore: 45,
        tier: 'WARM',
        tags: ['fbi'],
        updatedAt: expect.any(String),
      });
      expect(new Date(contact.updatedAt).getTime()).toBeGreaterThan(new Date(original.updatedAt as string).getTime());
      const read = await server.graphql(READ, { token: member, variables: { id } });
      expect(read.body.data.contact).toEqual(contact);
    });

    it('null email removes it; an empty tag list removes the tags', async () => {
      const response = await send(UPDATE, { id, email: null, tags: [] });
      expect(response.body.errors).toBeUndefined();
      expect(response.body.data.updateContact.contact).toMatchObject({ email: null, tags: [], phone: '+12025550100' });
    });

    it.each([
      ['a null name', 'input.name', { name: null }, /cannot be null/],
      ['a null phone', 'input.phone', { phone: null }, /cannot be null/],
      ['a null lead score', 'input.leadScore', { leadScore: null }, /cannot be null/],
      ['a null status', 'input.status', { status: null }, /cannot be null/],
      ['a null tag list', 'input.tags', { tags: null }, /cannot be null/],
    ])('refuses %s as a userError at %s, and writes nothing', async (_case, argument, override, message) => {
      const before = await orgSnapshot(db, org.id);
      const response = await send(UPDATE, { id, ...override });
      expectUserError(response, 'updateContact', 'NULL_NOT_ALLOWED', argument, message);
      expect(await orgSnapshot(db, org.id)).toEqual(before);
    });

    it('no field to change is NOTHING_TO_CHANGE, about the input as a whole', async () => {
      expectUserError(await send(UPDATE, { id }), 'updateContact', 'NOTHING_TO_CHANGE', null, /at least one of/);
    });

    it('an invalid phone or email is refused by its scalar type before execution', async () => {
      expectTypeRefusal(await send(UPDATE, { id, phone: '12345' }), '"input.phone"');
      expectTypeRefusal(await send(UPDATE, { id, email: 'two@@example.com' }), '"input.email"');
    });

    it('a malformed id, or an id of another type, is INVALID_ID at input.id', async () => {
      const agent = toGlobalId('Agent', await createAgent(db, org.id));
      for (const bad of ['not-an-id', 'Q29udGFjdDphYmM', agent]) {
        const response = await send(UPDATE, { id: bad, name: 'X' });
        expectUserError(response, 'updateContact', 'INVALID_ID', 'input.id', /not a valid Contact id/);
      }
    });

    it('an id that does not exist is NOT_FOUND at input.id', async () => {
      const response = await send(UPDATE, { id: toGlobalId('Contact', '987654321987'), name: 'X' });
      expectUserError(response, 'updateContact', 'NOT_FOUND', 'input.id', /^Contact not found$/);
    });
  });

  describe('archiveContact', () => {
    it('archives; the contact stays readable by id, as a node, in the list and under status ARCHIVED', async () => {
      const local = await createContact(db, org.id, { name: 'Archie Archived', status: 'contacted' });
      const id = toGlobalId('Contact', local);
      const response = await send(ARCHIVE, { id });
      expect(response.body.errors).toBeUndefined();
      const archived = response.body.data.archiveContact.contact;
      expect(archived).toMatchObject({ id, status: 'ARCHIVED', name: 'Archie Archived' });

      const read = await server.graphql(
        `query ($id: ID!) { contact(id: $id) { status } node(id: $id) { id } all: contacts(search: "archie") { nodes { id } } archived: contacts(status: ARCHIVED, search: "archie") { nodes { id } } }`,
        { token: member, variables: { id } },
      );
      expect(read.body.data).toEqual({
        contact: { status: 'ARCHIVED' },
        node: { id },
        all: { nodes: [{ id }] },
        archived: { nodes: [{ id }] },
      });
    });

    it('archiving again changes nothing, not even updatedAt; updateContact with another status brings it back', async () => {
      const id = toGlobalId('Contact', await createContact(db, org.id));
      const first = (await send(ARCHIVE, { id })).body.data.archiveContact.contact;
      const before = await orgSnapshot(db, org.id);
      const second = await send(ARCHIVE, { id });
      expect(second.body.errors).toBeUndefined();
      expect(second.body.data.archiveContact.contact).toEqual(first);
      expect(await orgSnapshot(db, org.id)).toEqual(before);

      const restored = await send(UPDATE, { id, status: 'QUALIFIED' });
      expect(restored.body.data.updateContact.contact.status).toBe('QUALIFIED');
    });

    it('an id that does not exist is NOT_FOUND; a malformed one INVALID_ID', async () => {
      expectUserError(await send(ARCHIVE, { id: toGlobalId('Contact', '987654321987') }), 'archiveContact', 'NOT_FOUND', 'input.id');
      expectUserError(await send(ARCHIVE, { id: '%%%' }), 'archiveContact', 'INVALID_ID', 'input.id');
    });
  });
});
