import { AthenaClient } from '@aws-sdk/client-athena';
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { AthenaActivity } from '#adapters/athena-activity.ts';
import { CloudTrailActivity, sdkLookup } from '#adapters/cloudtrail-activity.ts';
import { realSleep } from '#adapters/pacer.ts';
import { combineSources } from '#core/audit/activity.ts';
import { GrantorUnavailableError } from '#core/errors.ts';
import { grantorRoleArn, listedAccounts } from '#core/policy/accounts.ts';
import type { Activity } from '#core/ports.ts';
import { functionRegion, grantorSessionName, policyConfig } from './config.ts';

/**
 * The review function's CloudTrail reads (a module of its own so only that bundle carries the CloudTrail,
 * Athena and STS clients): LookupEvents in every target account through its grantor role (in this account
 * directly without an `accounts` list), and Athena over the organization trail when `audit.athena` is set.
 */

/** Grantor credentials for CloudTrail clients: the SDK refreshes them before `expiration`. */
function grantorCredentials(sts: STSClient, account: string) {
  const config = policyConfig();
  const roleArn = listedAccounts(config).some((a) => a.id === account)
    ? grantorRoleArn(config, account)
    : undefined;
  return async () => {
    if (!roleArn)
      throw new GrantorUnavailableError(`account ${account} is not listed in the config's accounts`);
    const out = await sts.send(
      new AssumeRoleCommand({
        RoleArn: roleArn,
        RoleSessionName: grantorSessionName(),
        ExternalId: config.externalId ?? '',
      }),
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
      throw new GrantorUnavailableError(`AssumeRole on ${roleArn} returned no credentials`);
    }
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: c.Expiration,
    };
  };
}

/** The Activity port of the review function. */
export function activityPort(): Activity {
  const config = policyConfig();
  const sts = new STSClient({});
  const clients = new Map<string, CloudTrailClient>();
  const clientFor = async (account: string, region: string) => {
    const key = `${account}:${region}`;
    let client = clients.get(key);
    if (!client) {
      // maxAttempts 1: throttled pages are retried by the adapter, behind its pacer.
      client = config.accounts
        ? new CloudTrailClient({ region, maxAttempts: 1, credentials: grantorCredentials(sts, account) })
        : new CloudTrailClient({ region, maxAttempts: 1 });
      clients.set(key, client);
    }
    return client;
  };
  const home = functionRegion();
  const regions = config.audit.regions ?? [...new Set([home, 'us-east-1'])];
  const sources: Activity[] = [
    new CloudTrailActivity({ lookup: sdkLookup(clientFor), regions, sleep: realSleep }),
  ];
  if (config.audit.athena) sources.push(new AthenaActivity(new AthenaClient({}), config.audit.athena));
  return combineSources(sources);
}
