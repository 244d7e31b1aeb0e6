import type { Principal } from '../auth/tokens';
import type { Config } from '../config/config';
import type { Db } from '../db/database';
import type { Loaders } from '../loaders';
import type { RecordingSigner } from '../recordings/signer';

/**
 * Everything a resolver may use, built per request after the token is
 * verified. `orgId` is the only organisation any query in this request sees.
 */
export interface Context extends Principal {
  db: Db;
  loaders: Loaders;
  signer: RecordingSigner;
  /** scheme://host the request came to; base of locally served recording URLs. */
  origin: string;
  limits: Pick<Config, 'defaultPageSize' | 'maxPageSize'>;
  recordingUrlTtlSeconds: number;
  /** When the request started: "today" for every statistic in it. */
  now: Date;
}
