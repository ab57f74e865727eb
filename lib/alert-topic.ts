import { ArnFormat, Aws, Stack } from 'aws-cdk-lib';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/** Props of {@link AlertTopic}. */
export interface AlertTopicProps {
  /**
   * The topic's display name (e-mail subscribers see it as the sender).
   * @default 'JIT broker alerts'
   */
  readonly displayName?: string;
}

/**
 * The SNS topic of the broker's alerts (break-glass grants, overdue break-glass reviews): encrypted with a
 * customer managed key (CloudWatch alarms cannot publish to a topic under the AWS managed `aws/sns` key),
 * publishing over TLS only, and open to this account's CloudWatch alarms. Subscribe the on-call to it.
 */
export class AlertTopic extends Construct {
  public readonly topic: Topic;
  public readonly key: Key;

  constructor(scope: Construct, id: string, props: AlertTopicProps = {}) {
    super(scope, id);
    this.key = new Key(this, 'Key', {
      description: 'JIT broker alert topic (SNS server-side encryption)',
      enableKeyRotation: true,
    });
    this.topic = new Topic(this, 'Topic', {
      displayName: props.displayName ?? 'JIT broker alerts',
      masterKey: this.key,
      enforceSSL: true,
    });
    const cloudwatch = new ServicePrincipal('cloudwatch.amazonaws.com');
    // Only this account's alarms: the service principal with the source account and alarm ARN pinned.
    const fromOwnAlarms = {
      StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
      ArnLike: {
        'aws:SourceArn': Stack.of(this).formatArn({
          service: 'cloudwatch',
          resource: 'alarm',
          resourceName: '*',
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      },
    };
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AlarmsPublish',
        principals: [cloudwatch],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: fromOwnAlarms,
      }),
    );
    // SNS encrypts what the alarm publishes with this key on CloudWatch's behalf.
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AlarmsEncryptForTopic',
        principals: [cloudwatch],
        actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
    );
  }

  /** Makes `alarm` publish to this topic when it goes into ALARM. */
  notify(alarm: Alarm): void {
    alarm.addAlarmAction(new SnsAction(this.topic));
  }
}
