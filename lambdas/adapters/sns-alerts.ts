import { RetryableAwsError } from '#core/errors.ts';
import type { Alerts, BrokerAlert } from '#core/ports.ts';
import { type SigningContext, signedPost } from './signed-fetch.ts';

/** Where alerts are published. */
export interface SnsAlertsOptions extends SigningContext {
  readonly topicArn: string;
}

/**
 * Alerts on the SNS topic of the stack output `AlertTopicArn`: a subject and a few lines people read in
 * mail or chat, then the fields as JSON for machines. One SigV4-signed `Publish` (SNS's query protocol)
 * rather than the SNS client: the grant function publishes break-glass alerts and its bundle has no room
 * for another SDK client.
 */
export class SnsAlerts implements Alerts {
  readonly #opts: SnsAlertsOptions;

  constructor(opts: SnsAlertsOptions) {
    this.#opts = opts;
  }

  async publish(alert: BrokerAlert): Promise<void> {
    const form = new URLSearchParams({
      Action: 'Publish',
      Version: '2010-03-31',
      TopicArn: this.#opts.topicArn,
      // SNS subjects: printable ASCII, no newline, at most 100 characters.
      Subject: alert.subject.replace(/[^\x20-\x7e]/g, '?').slice(0, 100),
      Message: `${alert.text}\n\n${JSON.stringify(alert.fields, null, 2)}`,
    });
    const response = await signedPost(this.#opts, {
      service: 'sns',
      host: (region) => `sns.${region}.amazonaws.com`,
      path: '/',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body: form.toString(),
    });
    if (response.ok) return;
    const text = (await response.text()).slice(0, 300);
    if (response.status === 429 || response.status >= 500) {
      throw new RetryableAwsError(`sns:Publish answered ${response.status} (retryable): ${text}`);
    }
    throw new Error(`sns:Publish answered ${response.status}: ${text}`);
  }
}
