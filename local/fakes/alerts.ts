import type { Alerts, BrokerAlert } from '#core/ports.ts';

/**
 * The SNS alert topic of the local runtime: every alert is kept (newest last) and shown on
 * `GET /_local/alerts`, with the moment it was published. `failNext(n)` makes the next n publishes fail, so
 * tests can see a break-glass grant stand when the alert topic is down.
 */
export class LocalAlerts implements Alerts {
  readonly published: (BrokerAlert & { readonly publishedAt: string })[] = [];
  #failures = 0;

  async publish(alert: BrokerAlert): Promise<void> {
    if (this.#failures > 0) {
      this.#failures -= 1;
      throw new Error('local alert topic unavailable');
    }
    this.published.push({ ...alert, publishedAt: new Date().toISOString() });
  }

  failNext(n: number): void {
    this.#failures = n;
  }
}
