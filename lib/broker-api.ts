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
import { ROUTES, type RouteAuth } from '#lambdas/api/contract.ts';

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

// The route table lives in the pure contract module; re-exported for the stack and the infra tests.
export { SLACK_ROUTE, USER_ROUTES } from '#lambdas/api/contract.ts';

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
    // Each route goes to the function that checks its kind of authentication; the Slack route exists only
    // with a Slack handler.
    const targets: Record<
      RouteAuth,
      { integration: LambdaIntegration; auth: AuthorizationType } | undefined
    > = {
      iam: { integration: new LambdaIntegration(props.handler), auth: AuthorizationType.IAM },
      'slack-signature': props.slackHandler && {
        integration: new LambdaIntegration(props.slackHandler),
        auth: AuthorizationType.NONE,
      },
    };
    for (const route of ROUTES) {
      const target = targets[route.auth];
      if (!target) continue;
      const method = this.api.root
        .resourceForPath(route.path)
        .addMethod(route.method, target.integration, { authorizationType: target.auth });
      if (route.auth === 'slack-signature') this.slackMethod = method;
    }
  }
}
