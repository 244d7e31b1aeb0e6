import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The HTTP request being served, reachable from anywhere in its async call
 * tree (error formatting, slow-statement logs) without threading it through
 * every signature.
 */
export interface RequestContext {
  requestId: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function withRequestContext<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}
