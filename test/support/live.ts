import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { waitFor } from './waiting';

/**
 * A real graphql-ws client (the package browsers use, over the `ws`
 * WebSocket) connected to a test server, and what it received.
 */
export interface LiveClient {
  client: Client;
  /** Resolves with the close code and reason once the socket closes. */
  closed: Promise<{ code: number; reason: string }>;
  /** Resolves once the server acknowledged connection_init. */
  connected: Promise<void>;
  subscribe(query: string, variables?: Record<string, unknown>): LiveSubscription;
  dispose(): Promise<void>;
}

export interface LiveSubscription {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- specs read event payloads field by field
  events: any[];
  errors: unknown[];
  completed: boolean;
  /** Waits until at least `count` events arrived (and returns them all). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see events
  waitForEvents(count: number, timeoutMs?: number): Promise<any[]>;
  unsubscribe(): void;
}

export function connectLive(baseUrl: string, connectionParams: Record<string, unknown> | undefined): LiveClient {
  let onClosed!: (value: { code: number; reason: string }) => void;
  let onConnected!: () => void;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => (onClosed = resolve));
  const connected = new Promise<void>((resolve) => (onConnected = resolve));
  const client = createClient({
    url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams,
    lazy: false,
    retryAttempts: 0,
    onNonLazyError: () => {},
    on: {
      connected: () => onConnected(),
      closed: (event) => {
        const { code, reason } = event as { code: number; reason: string | Buffer };
        onClosed({ code, reason: String(reason) });
      },
    },
  });
  return {
    client,
    closed,
    connected,
    subscribe(query, variables) {
      const subscription: LiveSubscription = {
        events: [],
        errors: [],
        completed: false,
        async waitForEvents(count, timeoutMs = 5000) {
          await waitFor(
            `${count} subscription events (have ${subscription.events.length}, errors ${JSON.stringify(subscription.errors)})`,
            () => subscription.events.length >= count,
            timeoutMs,
          );
          return subscription.events;
        },
        unsubscribe: () => {},
      };
      subscription.unsubscribe = client.subscribe(
        { query, ...(variables ? { variables } : {}) },
        {
          next: (value) => void subscription.events.push(value),
          error: (error) => void subscription.errors.push(error),
          complete: () => void (subscription.completed = true),
        },
      );
      return subscription;
    },
    async dispose() {
      await client.dispose();
    },
  };
}
