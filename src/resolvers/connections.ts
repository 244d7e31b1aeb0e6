import type { Connection } from '../pagination/connection';

/** The shared shape of every `…Connection` type's resolvers. */
export function connectionResolvers<Row>() {
  return {
    edges: (connection: Connection<Row>) => connection.rows.map((row) => ({ cursor: connection.cursorOf(row), node: row })),
    nodes: (connection: Connection<Row>) => connection.rows,
    pageInfo: (connection: Connection<Row>) => connection.pageInfo,
    totalCount: (connection: Connection<Row>) => connection.totalCount(),
  };
}
