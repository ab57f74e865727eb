import { Validations } from 'aws-cdk-lib';
import type { BrokerStack } from './broker-stack.ts';
import type { StatefulStack } from './stateful-stack.ts';

/** Every cdk-nag acknowledgement of the app, each with the reason it is acceptable. */
export function applyNagSuppressions(_stateful: StatefulStack, broker: BrokerStack): void {
  const ack = (id: string, reason: string) => Validations.of(broker).acknowledge({ id, reason });
  ack(
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    'The AWS-managed minimum for a Lambda to write its own logs.',
  );
  ack(
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
    'The AWS-managed role API Gateway needs to write execution logs.',
  );
  ack(
    'AwsSolutions-IAM5',
    'Wildcards are the target principal ARN patterns of the reviewed policy config (an explicit Deny keeps the broker off its own roles), the audit table index ARNs, X-Ray and log delivery (resource * by API design), and CDK-generated Lambda version ARNs of the state machine role.',
  );
  ack('AwsSolutions-APIG2', 'Every handler validates its body with a strict schema and answers 400 naming the field.');
  ack('AwsSolutions-APIG3', 'IAM-authorized internal API with stage throttling; attach an organization WAF ACL if required.');
  ack('AwsSolutions-COG4', 'User routes use AWS_IAM (SigV4) authorization: callers are IAM / Identity Center principals.');
}
