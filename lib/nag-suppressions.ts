import { type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import { type BrokerStack, targetPatterns } from './broker-stack.ts';
import type { StatefulStack } from './stateful-stack.ts';

const IAM5 = (resource: string) => `AwsSolutions::AwsSolutions-IAM5[Resource::${resource}]`;

function ack(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/**
 * Every cdk-nag acknowledgement of the app, each on the narrowest construct and finding, with the reason
 * it is acceptable. Findings not listed here fail the synth.
 */
export function applyNagSuppressions(_stateful: StatefulStack, broker: BrokerStack): void {
  const targets = [...targetPatterns(broker.policy, 'role'), ...targetPatterns(broker.policy, 'user')];
  for (const fn of Object.values(broker.functions)) {
    ack(
      fn.fn,
      IAM5('*'),
      'X-Ray PutTraceSegments/PutTelemetryRecords only accept Resource "*" (no resource-level permissions).',
    );
    for (const target of targets) {
      ack(
        fn.fn,
        IAM5(target),
        'Target principal ARN pattern from the reviewed policy config; the function can only put/get/delete inline policies on it, and an explicit Deny keeps it off the broker roles and protected principals.',
      );
    }
  }
  ack(
    broker.functions.sweeper.fn,
    'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
    'X-Ray, plus iam:ListRoles/ListUsers (read-only, no resource-level permissions) so the sweeper can find stray jit-* policies on target principals.',
  );
  const sm = broker.workflow.stateMachine;
  ack(
    sm,
    IAM5('*'),
    'Step Functions log delivery (logs:*LogDelivery, DescribeLogGroups/ResourcePolicies) and X-Ray tracing only accept Resource "*".',
  );
  for (const fn of Object.values(broker.functions)) {
    const logicalId = Stack.of(fn).getLogicalId(fn.fn.node.defaultChild as CfnFunction as CfnElement);
    ack(
      sm,
      IAM5(`<${logicalId}.Arn>:*`),
      'CDK grants lambda:InvokeFunction on the versions/aliases of the broker functions the state machine invokes.',
    );
  }
  ack(
    broker,
    'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    'The AWS-managed minimum for a Lambda to write its own logs.',
  );
  ack(
    broker,
    'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
    'The AWS-managed role API Gateway needs to write execution logs.',
  );
  ack(
    broker,
    'AwsSolutions::AwsSolutions-APIG2',
    'Every handler validates its body with a strict schema and answers 400 naming the field.',
  );
  ack(
    broker,
    'AwsSolutions::AwsSolutions-APIG3',
    'IAM-authorized internal API with stage throttling; attach an organization WAF ACL if required.',
  );
  ack(
    broker,
    'AwsSolutions::AwsSolutions-COG4',
    'User routes use AWS_IAM (SigV4) authorization: callers are IAM / Identity Center principals.',
  );
  if (broker.slack) applySlackNagSuppressions(broker);
}

/** The Slack approvals' acknowledgements (only present when the config has a `slack` section). */
function applySlackNagSuppressions(broker: BrokerStack): void {
  const slack = broker.slack;
  if (!slack) return;
  ack(
    slack.callback.fn,
    IAM5('*'),
    'X-Ray PutTraceSegments/PutTelemetryRecords only accept Resource "*" (no resource-level permissions).',
  );
  for (const secret of [slack.signingSecret, slack.botToken]) {
    ack(
      secret,
      'AwsSolutions::AwsSolutions-SMG4',
      'Issued by Slack, not by us: rotation means regenerating it in the Slack app settings and storing the new value, which a Secrets Manager rotation Lambda cannot drive.',
    );
  }
  if (broker.api.slackMethod) {
    ack(
      broker.api.slackMethod,
      'AwsSolutions::AwsSolutions-APIG4',
      'Slack cannot sign with SigV4; every request is authenticated by its Slack HMAC-SHA256 signature (v0, 5-minute replay window, constant-time compare) in the function before anything is parsed, and answered 401 otherwise.',
    );
  }
}
