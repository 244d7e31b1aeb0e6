import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface LiveMetrics {
  connectionOpened(): void;
  connectionClosed(): void;
  subscriptionStarted(): void;
  subscriptionEnded(): void;
  /** One event sent; `lagMs` from its batch's first NOTIFY to the send, when known. */
  delivered(lagMs: number | undefined): void;
}

/** /metrics for subscriptions: open connections, active subscriptions, events delivered, delivery lag. */
export function createLiveMetrics(registry: Registry): LiveMetrics {
  const connections = new Gauge({ name: 'switchboard_live_connections', help: 'Open subscription connections (WebSocket)', registers: [registry] });
  const subscriptions = new Gauge({ name: 'switchboard_live_subscriptions', help: 'Active subscriptions', registers: [registry] });
  const events = new Counter({ name: 'switchboard_live_events_delivered_total', help: 'Subscription events sent to clients', registers: [registry] });
  const lag = new Histogram({
    name: 'switchboard_live_delivery_lag_seconds',
    help: "From the database's NOTIFY reaching this instance to the event's send",
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  return {
    connectionOpened: () => connections.inc(),
    connectionClosed: () => connections.dec(),
    subscriptionStarted: () => subscriptions.inc(),
    subscriptionEnded: () => subscriptions.dec(),
    delivered(lagMs) {
      events.inc();
      if (lagMs !== undefined) lag.observe(lagMs / 1000);
    },
  };
}
