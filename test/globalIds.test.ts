import { NODE_TYPES, parseGlobalId, toGlobalId } from '../src/graphql/globalId';

describe('global ids', () => {
  const localIds = ['1', '12', '123', '1234', '99999', '842004', '9223372036854775807'];

  it('are base64url of "Type:id" without padding, for every type and every id length', () => {
    for (const type of NODE_TYPES) {
      for (const id of localIds) expect(toGlobalId(type, id)).toBe(Buffer.from(`${type}:${id}`, 'utf8').toString('base64url'));
    }
  });

  it('decode back to their type and id', () => {
    for (const type of NODE_TYPES) for (const id of localIds) expect(parseGlobalId(toGlobalId(type, id))).toEqual({ type, localId: id });
  });

  it('encode text outside ASCII as UTF-8, as Buffer does', () => {
    expect(toGlobalId('Call', 'é1')).toBe(Buffer.from('Call:é1', 'utf8').toString('base64url'));
  });
});
