import { RemovalPolicy } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  AuthorizationType,
  LambdaIntegration,
  LogGroupLogDestination,
  type Method,
  MethodLoggingLevel,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** Props of {@link BrokerApi}. */
export interface BrokerApiProps {
  readonly handler: IFunction;
  /** The Slack callback function; when set, `POST /slack/interactions` exists (no IAM auth). */
  readonly slackHandler?: IFunction;
  /** @default 10 requests per second */
  readonly rateLimit?: number;
  /** @default 20 */
  readonly burstLimit?: number;
}

/** The user routes of the HTTP contract (DESIGN.md); every one requires SigV4 (AWS_IAM). */
export const USER_ROUTES: readonly { method: string; path: string }[] = [
  { method: 'POST', path: '/requests' },
  { method: 'GET', path: '/requests' },
  { method: 'GET', path: '/requests/{id}' },
  { method: 'POST', path: '/requests/{id}/approve' },
  { method: 'POST', path: '/requests/{id}/deny' },
  { method: 'POST', path: '/requests/{id}/cancel' },
  { method: 'POST', path: '/requests/{id}/revoke' },
  { method: 'GET', path: '/requests/{id}/credentials' },
];

/** Slack's interactivity request URL. Slack cannot SigV4-sign: the function verifies Slack's HMAC instead. */
export const SLACK_ROUTE = { method: 'POST', path: '/slack/interactions' } as const;

/**
 * REST API with AWS_IAM on every user route (the caller is the SigV4 identity), JSON access logs,
 * execution logging and stage throttling.
 */
export class BrokerApi extends Construct {
  public readonly api: RestApi;
  /** `POST /slack/interactions`, when a Slack handler was given. */
  public readonly slackMethod?: Method;

  constructor(scope: Construct, id: string, props: BrokerApiProps) {
    super(scope, id);
    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.api = new RestApi(this, 'Api', {
      description: 'JIT access broker',
      cloudWatchRole: true,
      defaultMethodOptions: { authorizationType: AuthorizationType.IAM },
      deployOptions: {
        stageName: 'v1',
        accessLogDestination: new LogGroupLogDestination(accessLogs),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields(),
        loggingLevel: MethodLoggingLevel.INFO,
        dataTraceEnabled: false,
        tracingEnabled: true,
        throttlingRateLimit: props.rateLimit ?? 10,
        throttlingBurstLimit: props.burstLimit ?? 20,
      },
    });
    const integration = new LambdaIntegration(props.handler);
    for (const route of USER_ROUTES) {
      this.api.root.resourceForPath(route.path).addMethod(route.method, integration, {
        authorizationType: AuthorizationType.IAM,
      });
    }
    if (props.slackHandler) {
      this.slackMethod = this.api.root
        .resourceForPath(SLACK_ROUTE.path)
        .addMethod(SLACK_ROUTE.method, new LambdaIntegration(props.slackHandler), {
          authorizationType: AuthorizationType.NONE,
        });
    }
  }
}
