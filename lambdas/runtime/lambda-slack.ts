import { DynamoSlackCards } from '#adapters/dynamo-slack-cards.ts';
import { SecretReader, secretsManagerSource } from '#adapters/slack-secrets.ts';
import { SlackWebApi } from '#adapters/slack-web-api.ts';
import { ConfigError } from '#core/errors.ts';
import type { Deps } from '#core/ports.ts';
import type { SlackHandlerOptions } from '../slack/handler.ts';
import type { DepsParts } from './compose.ts';
import { endpointOverride, policyConfig, slackEnv, tableName } from './config.ts';
import { documentClient } from './lambda-deps.ts';
import { log } from './logger.ts';
import { type SlackWiringParts, wireSlack, wireSlackCallback } from './slack-wiring.ts';

/**
 * The Lambda side of the Slack wiring: the bot token and signing secret from Secrets Manager, the card
 * record on the audit table. A function takes part only if the config has a `slack` section and the CDK
 * granted it the bot token (its ARN is in the environment); otherwise these return nothing and the
 * function behaves as without Slack.
 */

let reader: SecretReader | undefined;

/** Secrets Manager (signed with the DynamoDB client's credentials and region), once per cold start. */
function secrets(): SecretReader {
  const { config } = documentClient();
  const endpoint = endpointOverride('SECRETS_MANAGER');
  reader ??= new SecretReader(
    secretsManagerSource({
      region: config.region,
      credentials: config.credentials,
      ...(endpoint ? { endpoint } : {}),
    }),
  );
  return reader;
}

/** The Slack parts of this function, or undefined when Slack is off for it. */
function slackParts(): SlackWiringParts | undefined {
  const config = policyConfig();
  const env = slackEnv();
  const tokenArn = env.botTokenArn;
  if (!config.slack || !tokenArn) return undefined;
  return {
    config,
    api: new SlackWebApi({
      token: () => secrets().read(tokenArn),
      ...(env.apiUrl ? { baseUrl: env.apiUrl, responseOrigins: [new URL(env.apiUrl).origin] } : {}),
    }),
    cards: new DynamoSlackCards(documentClient(), tableName()),
    onError: (message, error, fields) => log.error(message, error, fields),
  };
}

/**
 * What a workflow or API function passes to `lambdaDeps`: an Approvals port that posts the request card,
 * and a store wrapper that keeps the card current after every status change this function writes.
 */
export function slackPorts(): Pick<DepsParts, 'approvals' | 'wrapStore'> {
  const parts = slackParts();
  return parts ? wireSlack(parts) : {};
}

/**
 * Options of the Slack callback function. Both secrets are requested at init (Lambda's init phase runs at
 * full speed) so the first click does not wait for Secrets Manager; a failed read is retried per call.
 */
export function slackCallbackOptions(deps: Deps): SlackHandlerOptions {
  const parts = slackParts();
  const signingArn = slackEnv().signingSecretArn;
  const tokenArn = slackEnv().botTokenArn;
  if (!parts || !signingArn || !tokenArn) {
    throw new ConfigError('the Slack function needs a slack config section and both Slack secret ARNs');
  }
  secrets()
    .read(signingArn)
    .catch(() => {});
  secrets()
    .read(tokenArn)
    .catch(() => {});
  return wireSlackCallback(parts, deps, () => secrets().read(signingArn));
}
