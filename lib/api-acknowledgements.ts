import { acknowledge } from './acknowledge.ts';
import type { BrokerApi } from './broker-api.ts';

/**
 * The cdk-nag findings the REST API causes, acknowledged on it with their reasons. Called right after the
 * API is built; they belong in `BrokerApi` itself and move there once its rewrite lands.
 */
export function acknowledgeApiFindings(api: BrokerApi): void {
  acknowledge(
    api,
    'APIG2',
    'Every handler validates its body with a strict schema and answers 400 naming the field.',
  );
  acknowledge(
    api,
    'APIG3',
    'IAM-authorized internal API with stage throttling; attach an organization WAF ACL if required.',
  );
  acknowledge(
    api,
    'COG4',
    'User routes use AWS_IAM (SigV4) authorization: callers are IAM / Identity Center principals.',
  );
  acknowledge(
    api,
    'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
    'The AWS-managed role API Gateway needs to write execution logs.',
  );
  if (api.slackMethod) {
    acknowledge(
      api.slackMethod,
      'APIG4',
      'Slack cannot sign with SigV4; every request is authenticated by its Slack HMAC-SHA256 signature (v0, 5-minute replay window, constant-time compare) in the function before anything is parsed, and answered 401 otherwise.',
    );
  }
}
