import { Counter, type Registry } from 'prom-client';

/** How a delivery ended. A fixed set: no tenant, event id or provider ever becomes a label. */
export type DeliveryResult =
  'applied' | 'duplicate' | 'unknown_agent' | 'unauthorized' | 'invalid' | 'too_large' | 'method_not_allowed' | 'unavailable' | 'error';

export interface WebhookMetrics {
  countDelivery(result: DeliveryResult): void;
}

export function createWebhookMetrics(registry: Registry): WebhookMetrics {
  const deliveries = new Counter({
    name: 'switchboard_webhook_deliveries_total',
    help: 'Call-report webhook deliveries, by result',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  return { countDelivery: (result) => deliveries.inc({ result }) };
}
