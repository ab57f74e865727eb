import type { SigningContext } from '#adapters/signed-fetch.ts';

/** One HTTP call a signed-fetch adapter made. */
export interface Sent {
  readonly url: string;
  readonly method: string | undefined;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * A signing context in eu-west-1 with example session credentials whose `fetch` records every call in
 * `sent` and answers it with `answer()`: for the adapters that sign their own calls (Lambda, SNS).
 */
export function recordingContext(answer: () => Response): { context: SigningContext; sent: Sent[] } {
  const sent: Sent[] = [];
  const context: SigningContext = {
    region: async () => 'eu-west-1',
    credentials: async () => ({
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'secret',
      sessionToken: 'token',
    }),
    fetch: (async (url: string, init: RequestInit) => {
      sent.push({
        url,
        method: init.method,
        headers: init.headers as Record<string, string>,
        body: String(init.body),
      });
      return answer();
    }) as typeof fetch,
  };
  return { context, sent };
}
