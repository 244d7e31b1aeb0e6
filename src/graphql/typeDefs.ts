import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../config/config';

/** The contract, schema.graphql, as SDL text. */
export const typeDefs = readFileSync(path.join(PROJECT_ROOT, 'schema.graphql'), 'utf8');
