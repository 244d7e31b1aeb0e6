import type { ApolloServerPlugin } from '@apollo/server';
import { OperationTypeNode } from 'graphql';
import type { Context } from '../graphql/context';
import type { ReplicaRouter } from '../db/replicas';
import { bindScope } from './context';
import type { Services } from './services';

/**
 * The one place a GraphQL request's TenantScope may move to a read replica.
 * The context is built on the primary before the document is parsed; once the
 * operation is resolved and known to be a query, its scope and loaders are
 * rebound to the database the router picks for its organisation. Mutations
 * (and their payload reads, which must see the write) stay on the primary.
 */
export function readRoutingPlugin(services: Services, router: ReplicaRouter): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, contextValue }) {
          if (operation?.operation !== OperationTypeNode.QUERY) return;
          const db = router.readDb(contextValue.scope.orgId);
          // The context was bound to the primary (services.database.db) for this request.
          if (db === services.database.db) return;
          Object.assign(contextValue, bindScope(services, db, contextValue.scope.orgId, contextValue.now, contextValue.request));
        },
      };
    },
  };
}
