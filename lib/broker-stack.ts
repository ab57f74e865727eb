import { Aws, CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { PolicyConfig } from '#core/policy-config.ts';
import { ENV } from '#lambdas/config.ts';
import { BrokerApi } from './broker-api.ts';
import { BrokerFunction, type HandlerName } from './broker-function.ts';
import { BrokerWorkflow } from './workflow.ts';

/** Props of {@link BrokerStack}. */
export interface BrokerStackProps extends StackProps {
  /** The validated policy config (validated again at every cold start). */
  readonly policy: PolicyConfig;
  /** The audit table from the stateful stack. */
  readonly table: ITable;
}

type IamVerb = 'Put' | 'Get' | 'Delete';

/** The target ARN patterns of the config for one principal type, deduplicated. */
export function targetPatterns(policy: PolicyConfig, type: 'role' | 'user'): string[] {
  return [...new Set(policy.rules.flatMap((r) => r.targets).filter((t) => t.includes(`:${type}/`)))];
}

/**
 * The stateless part: the five functions, the state machine and the REST API. IAM write permissions reach
 * only the target ARN patterns of the config, and an explicit Deny keeps the broker off its own roles and
 * the configured protected principals.
 */
export class BrokerStack extends Stack {
  public readonly workflow: BrokerWorkflow;
  public readonly api: BrokerApi;
  /** The broker's functions by handler name. */
  public readonly functions: Readonly<Record<HandlerName, BrokerFunction>>;
  /** The validated policy config this stack was built from. */
  public readonly policy: PolicyConfig;
  readonly #policy: PolicyConfig;

  constructor(scope: Construct, id: string, props: BrokerStackProps) {
    super(scope, id, props);
    this.#policy = props.policy;
    this.policy = props.policy;
    const make = (handler: HandlerName, construct: string) =>
      new BrokerFunction(this, construct, { handler, policy: props.policy }).bindTable(props.table);

    const validate = make('validate', 'ValidateFunction');
    const awaitApproval = make('await-approval', 'AwaitApprovalFunction');
    const grant = make('grant', 'GrantFunction');
    const revoke = make('revoke', 'RevokeFunction');
    const api = make('api', 'ApiFunction');
    this.functions = { validate, 'await-approval': awaitApproval, grant, revoke, api };

    this.#grantTargets(grant, ['Put', 'Get']);
    this.#grantTargets(revoke, ['Delete', 'Get']);
    this.#grantTargets(api, ['Delete', 'Get']);

    this.workflow = new BrokerWorkflow(this, 'Workflow', {
      functions: {
        validate: validate.fn,
        awaitApproval: awaitApproval.fn,
        grant: grant.fn,
        revoke: revoke.fn,
      },
      approvalWindow: Duration.seconds(props.policy.approvalWindowSeconds),
    });
    const sm = this.workflow.stateMachine;
    api.fn.addEnvironment(ENV.stateMachineArn, sm.stateMachineArn);
    sm.grantStartExecution(api.fn);
    sm.grantTaskResponse(api.fn);

    this.api = new BrokerApi(this, 'Http', { handler: api.fn });

    new CfnOutput(this, 'ApiUrl', { value: this.api.api.url });
    new CfnOutput(this, 'StateMachineArn', { value: sm.stateMachineArn });
  }

  /**
   * Lets `fn` call `iam:<Verb>RolePolicy`/`<Verb>UserPolicy` on the config's target patterns only, and
   * denies the same on this app's own roles and the protected principals (a Deny beats any Allow).
   */
  #grantTargets(fn: BrokerFunction, verbs: readonly IamVerb[]): void {
    for (const type of ['role', 'user'] as const) {
      const resources = targetPatterns(this.#policy, type);
      if (resources.length === 0) continue;
      const actions = verbs.map((v) => `iam:${v}${type === 'role' ? 'Role' : 'User'}Policy`);
      fn.fn.addToRolePolicy(new PolicyStatement({ sid: `JitTargets${type}`, actions, resources }));
    }
    const ownRoles = `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/${this.stackName}-*`;
    fn.fn.addToRolePolicy(
      new PolicyStatement({
        sid: 'NeverTouchBrokerOrProtected',
        effect: Effect.DENY,
        actions: ['iam:PutRolePolicy', 'iam:DeleteRolePolicy', 'iam:PutUserPolicy', 'iam:DeleteUserPolicy'],
        resources: [ownRoles, ...this.#policy.protectedPrincipals],
      }),
    );
  }
}
