import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Aws, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, ManagedPolicy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { TABLE_SCHEMA } from '#adapters/table-schema.ts';
import { listedAccounts, patternsInAccount } from '#core/policy/accounts.ts';
import type { PolicyConfig } from '#core/policy/config.ts';
import { ENV, POLICY_FILE_NAME } from '#lambdas/runtime/config.ts';
import { acknowledge, acknowledgeWildcard } from './acknowledge.ts';

/** Repository root (the Lambda entries live under `lambdas/`). */
export const PROJECT_ROOT = resolve(import.meta.dirname, '..');

/** The Lambda entries of the broker, by name (`lambdas/<name>/index.ts`). */
export type HandlerName =
  | 'api'
  | 'validate'
  | 'await-approval'
  | 'grant'
  | 'revoke'
  | 'sweeper'
  | 'slack'
  | 'evidence'
  | 'digest';

/**
 * The audit entries (`lambdas/review`, `lambdas/first-use`): kept out of {@link HandlerName}, whose every
 * name the local runtime serves, until it serves these too.
 */
export type AuditHandlerName = 'review' | 'first-use';

/**
 * Credential providers the SDK's default chain imports lazily, after `fromEnv`. In Lambda the execution
 * role's credentials are always in the environment, so the chain stops at `fromEnv` and these are never
 * loaded; leaving them out of the bundle saves about 80 KiB per function (the SSO/STS/OIDC clients of
 * `nested-clients` above all). Were one ever reached, the import fails loudly (module not found) rather
 * than silently using other credentials.
 */
export const UNREACHED_CREDENTIAL_PROVIDERS = [
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-web-identity',
  '@aws-sdk/credential-provider-http',
  '@aws-sdk/credential-provider-login',
  '@smithy/credential-provider-imds',
  '@aws-sdk/nested-clients',
] as const;

/** Props of {@link BrokerFunction}. */
export interface BrokerFunctionProps {
  /** Which entry under `lambdas/` to bundle. */
  readonly handler: HandlerName | AuditHandlerName;
  /** The validated policy config; copied into the bundle as `jit-policy.json`. */
  readonly policy: PolicyConfig;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default RetentionDays.ONE_YEAR */
  readonly logRetention?: RetentionDays;
  /**
   * A fixed name for the execution role, so another account can trust it by ARN before this stack is
   * deployed (the grantor roles trust the grant, revoke and sweeper roles by name).
   * @default a name CloudFormation generates
   */
  readonly roleName?: string;
}

/**
 * The broker functions the grantor roles trust, and so whose execution roles have stable names (the review
 * reads CloudTrail's event history in each target account through the grantor).
 */
export const GRANTOR_CALLERS = ['grant', 'revoke', 'sweeper', 'review'] as const;
/** One of {@link GRANTOR_CALLERS}. */
export type GrantorCaller = (typeof GRANTOR_CALLERS)[number];

/**
 * The stable execution role name of a broker function that assumes the grantor roles:
 * `<brokerStackName>-<handler>`, inside the `<stackName>-*` names the broker protects.
 */
export function brokerRoleName(brokerStackName: string, handler: GrantorCaller): string {
  const name = `${brokerStackName}-${handler}`;
  if (name.length > 64) throw new Error(`broker role name ${name} is longer than IAM's 64 characters`);
  return name;
}

/**
 * The grantor role ARNs the broker may assume, one per listed account, with `partition` filled in (a
 * literal or the stack's partition token).
 */
export function grantorRoleArns(policy: PolicyConfig, partition: string): string[] {
  return listedAccounts(policy).map((a) => `arn:${partition}:iam::${a.id}:role/${a.grantorRoleName}`);
}

/**
 * The config's credential role patterns as ARNs the broker can assume: with an `accounts` list, a `*`
 * account becomes each listed account (the broker never assumes a role in an unlisted account).
 */
function assumableCredentialRoles(policy: PolicyConfig): string[] {
  const patterns = credentialRolePatterns(policy);
  if (!policy.accounts) return patterns;
  return [...new Set(listedAccounts(policy).flatMap((a) => patternsInAccount(patterns, a.id)))];
}

/** An inline-policy verb on target principals: `iam:<Verb>RolePolicy` / `iam:<Verb>UserPolicy`. */
export type IamVerb = 'Put' | 'Get' | 'Delete' | 'List';

/** What a function may do with the credentials vault key: seal (grant) or open (API). */
export type VaultKeyUse = 'encrypt' | 'decrypt';

/** What a function may do with the workflow: start it, answer its task tokens, describe its executions. */
export type StateMachineAccess = 'start' | 'taskResponse' | 'describeExecution';

/** What a function does with the credential roles: assume them, or put the session deny on them. */
export type CredentialRoleUse = 'assume' | 'sessionDeny';

/** The target ARN patterns of the config for one principal type, deduplicated. */
export function targetPatterns(policy: PolicyConfig, type: 'role' | 'user'): string[] {
  return [...new Set(policy.rules.flatMap((r) => r.targets).filter((t) => t.includes(`:${type}/`)))];
}

/** The role ARN patterns of the config's credentials rules (the roles the broker may assume). */
export function credentialRolePatterns(policy: PolicyConfig): string[] {
  return [...new Set(policy.rules.filter((r) => r.kind === 'credentials').flatMap((r) => r.targets))];
}

let policyDir: string | undefined;
const policyFiles = new WeakMap<PolicyConfig, string>();

/** Writes the validated config once per synth so every bundle copies the same file. */
function policyFileFor(policy: PolicyConfig): string {
  const known = policyFiles.get(policy);
  if (known) return known;
  if (!policyDir) {
    const dir = mkdtempSync(join(tmpdir(), 'jit-policy-'));
    // Bundling copies the file during synth; nothing needs it after this process.
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    policyDir = dir;
  }
  const file = join(policyDir, `${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(policy, null, 2));
  policyFiles.set(policy, file);
  return file;
}

/**
 * The house Lambda: nodejs24.x on arm64, ESM bundle with source maps, its own log group with retention,
 * JSON logs, X-Ray active, and the policy config inside the bundle (a config change is a code change).
 * Each `bindX()` sets the env var the function reads and grants the least privilege it needs in one call,
 * and acknowledges, with its reason, the cdk-nag finding that grant causes; no env var is set by hand.
 */
export class BrokerFunction extends Construct {
  public readonly fn: NodejsFunction;

  constructor(scope: Construct, id: string, props: BrokerFunctionProps) {
    super(scope, id);
    const policyFile = policyFileFor(props.policy);
    // A named role carries the same AWS-managed logging policy Lambda would have attached itself.
    const role = props.roleName
      ? new Role(this, 'ServiceRole', {
          roleName: props.roleName,
          assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
          managedPolicies: [
            ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaBasicExecutionRole'),
          ],
        })
      : undefined;
    const logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.fn = new NodejsFunction(this, 'Fn', {
      entry: join(PROJECT_ROOT, 'lambdas', props.handler, 'index.ts'),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(30),
      tracing: Tracing.ACTIVE,
      logGroup,
      ...(role ? { role } : {}),
      loggingFormat: LoggingFormat.JSON,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        [ENV.handler]: props.handler,
        [ENV.accountId]: Aws.ACCOUNT_ID,
        [ENV.brokerName]: Aws.STACK_NAME,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node24',
        minify: true,
        sourceMap: true,
        mainFields: ['module', 'main'],
        // ESM bundles of CommonJS dependencies still call require().
        banner: "import{createRequire}from'module';const require=createRequire(import.meta.url);",
        externalModules: [...UNREACHED_CREDENTIAL_PROVIDERS],
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_input: string, output: string) => [
            `cp "${policyFile}" "${output}/${POLICY_FILE_NAME}"`,
          ],
        },
      },
    });
    acknowledgeWildcard(
      this,
      '*',
      'X-Ray PutTraceSegments/PutTelemetryRecords only accept Resource "*" (no resource-level permissions).',
    );
    acknowledge(
      this,
      'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'The AWS-managed minimum for a Lambda to write its own logs.',
    );
  }

  /**
   * Points the function at the audit table and grants it the item operations the store uses, on the
   * table and its two named indexes only (no `index/*`, no Scan, no DeleteItem: events are never deleted).
   */
  bindTable(table: ITable): this {
    this.fn.addEnvironment(ENV.tableName, table.tableName);
    this.fn.addToRolePolicy(
      new PolicyStatement({
        sid: 'AuditTable',
        actions: [
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:Query',
          'dynamodb:ConditionCheckItem',
        ],
        resources: [
          table.tableArn,
          ...Object.values(TABLE_SCHEMA.indexes).map((i) => `${table.tableArn}/index/${i.name}`),
        ],
      }),
    );
    return this;
  }

  /**
   * Points the function at the evidence bucket. `write` (the evidence function): s3:PutObject on
   * `events/*` and `heads/*` only (no delete, no retention change, no governance bypass) and GetObject to
   * compare a redelivered event; `read` (verification): GetObject on `events/*` and `digests/*`, ListBucket
   * on those prefixes; `digest` (the daily digest function): PutObject/GetObject on `digests/*`, GetObject
   * on `heads/*`, ListBucket on `heads/` and `digests/`. The key: what SSE-KMS needs.
   */
  bindEvidenceBucket(bucket: IBucket, key: IKey, use: 'write' | 'read' | 'digest'): this {
    this.fn.addEnvironment(ENV.evidenceBucket, bucket.bucketName);
    const under = (prefix: string) => bucket.arnForObjects(`${prefix}/*`);
    // write: the events and their head markers (GetObject to compare a redelivery); read: the events and
    // the digests (verify); digest: reads the head markers, writes (and re-reads) the digests.
    const statements: Record<typeof use, { put: string[]; get: string[]; list?: string[] }> = {
      write: { put: ['events', 'heads'], get: ['events', 'heads'] },
      read: { put: [], get: ['events', 'digests'], list: ['events/', 'digests/'] },
      digest: { put: ['digests'], get: ['heads', 'digests'], list: ['heads/', 'digests/'] },
    };
    const { put, get, list } = statements[use];
    if (put.length > 0) {
      this.fn.addToRolePolicy(
        new PolicyStatement({ sid: 'EvidencePut', actions: ['s3:PutObject'], resources: put.map(under) }),
      );
    }
    this.fn.addToRolePolicy(
      new PolicyStatement({ sid: 'EvidenceObjects', actions: ['s3:GetObject'], resources: get.map(under) }),
    );
    if (list) {
      this.fn.addToRolePolicy(
        new PolicyStatement({
          sid: 'EvidenceList',
          actions: ['s3:ListBucket'],
          resources: [bucket.bucketArn],
          conditions: { StringLike: { 's3:prefix': list.map((p) => `${p}*`) } },
        }),
      );
    }
    this.fn.addToRolePolicy(
      new PolicyStatement({
        sid: 'EvidenceKey',
        actions: use === 'read' ? ['kms:Decrypt'] : ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [key.keyArn],
      }),
    );
    for (const prefix of new Set([...put, ...get])) {
      acknowledgeWildcard(
        this,
        under(prefix),
        `One object per audit event, head marker or day under ${prefix}/: the keys are not known in advance.`,
      );
    }
    return this;
  }

  /**
   * Lets the function call `iam:<Verb>RolePolicy`/`<Verb>UserPolicy` on the config's target patterns only,
   * and denies it the writes and sts:AssumeRole on this stack's own roles and the config's protected
   * principals (a Deny beats any Allow). `policy` is the validated config as the operator wrote it.
   */
  bindTargets(policy: PolicyConfig, verbs: readonly IamVerb[]): this {
    // With listed accounts every target is reached through its account's grantor: no direct IAM at all.
    if (policy.accounts) return this.bindGrantors(policy);
    for (const type of ['role', 'user'] as const) {
      const resources = targetPatterns(policy, type);
      if (resources.length === 0) continue;
      const kind = type === 'role' ? 'Role' : 'User';
      const actions = verbs.map((v) => (v === 'List' ? `iam:List${kind}Policies` : `iam:${v}${kind}Policy`));
      this.fn.addToRolePolicy(new PolicyStatement({ sid: `JitTargets${type}`, actions, resources }));
      for (const target of resources) {
        acknowledgeWildcard(
          this,
          target,
          'Target principal ARN pattern from the reviewed policy config; the function can only put/get/delete inline policies on it, and an explicit Deny keeps it off the broker roles and protected principals.',
        );
      }
    }
    this.denyBrokerAndProtected(policy);
    return this;
  }

  /**
   * Multi-account: lets the function assume the listed accounts' grantor roles (exact ARNs, no pattern),
   * through which it reaches the targets; keeps the Deny on its own roles and the protected principals.
   */
  bindGrantors(policy: PolicyConfig): this {
    const grantors = grantorRoleArns(policy, Aws.PARTITION);
    if (!this.#grantorsBound) {
      this.#grantorsBound = true;
      this.fn.addToRolePolicy(
        new PolicyStatement({ sid: 'AssumeGrantors', actions: ['sts:AssumeRole'], resources: grantors }),
      );
    }
    this.denyBrokerAndProtected(policy);
    return this;
  }

  /** The explicit Deny (beats any Allow) of writes and sts:AssumeRole on this stack's roles and the protected. */
  private denyBrokerAndProtected(policy: PolicyConfig): void {
    if (this.#denied) return;
    this.#denied = true;
    const ownRoles = `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/${Stack.of(this).stackName}-*`;
    this.fn.addToRolePolicy(
      new PolicyStatement({
        sid: 'NeverTouchBrokerOrProtected',
        effect: Effect.DENY,
        actions: [
          'iam:PutRolePolicy',
          'iam:DeleteRolePolicy',
          'iam:PutUserPolicy',
          'iam:DeleteUserPolicy',
          'sts:AssumeRole',
        ],
        resources: [ownRoles, ...policy.protectedPrincipals],
      }),
    );
  }

  #denied = false;
  #grantorsBound = false;

  /**
   * Credentials grants: `assume` lets the function assume the config's credential roles (with session tags
   * and source identity) and read their id; `sessionDeny` lets it put, read and remove the session-deny
   * policy on them. Nothing when the config has no credentials rule.
   */
  bindCredentialRoles(policy: PolicyConfig, use: CredentialRoleUse): this {
    const resources = assumableCredentialRoles(policy);
    if (resources.length === 0) return this;
    // With listed accounts, reading the role and the session deny go through the target account's
    // grantor: only the assume stays direct.
    if (policy.accounts && use === 'sessionDeny') return this;
    if (use === 'assume') {
      this.fn.addToRolePolicy(
        new PolicyStatement({
          sid: 'AssumeCredentialRoles',
          actions: ['sts:AssumeRole', 'sts:TagSession', 'sts:SetSourceIdentity'],
          resources,
        }),
      );
      if (!policy.accounts) {
        this.fn.addToRolePolicy(
          new PolicyStatement({ sid: 'ReadCredentialRoles', actions: ['iam:GetRole'], resources }),
        );
      }
    } else {
      this.fn.addToRolePolicy(
        new PolicyStatement({
          sid: 'SessionDenyOnCredentialRoles',
          actions: [
            'iam:GetRole',
            'iam:ListRolePolicies',
            'iam:PutRolePolicy',
            'iam:GetRolePolicy',
            'iam:DeleteRolePolicy',
          ],
          resources,
        }),
      );
    }
    for (const role of resources) {
      acknowledgeWildcard(
        this,
        role,
        'Credential role ARN pattern from the reviewed policy config: the grant function may assume it and read it, the revoke paths put and remove the session-deny policy on it; an explicit Deny keeps the broker off its own roles and protected principals.',
      );
    }
    return this;
  }

  /** Points the function at the credentials vault key and lets it encrypt (seal) or decrypt (open) only. */
  bindVaultKey(key: IKey, use: VaultKeyUse): this {
    this.fn.addEnvironment(ENV.credentialsKeyId, key.keyArn);
    this.fn.addToRolePolicy(
      new PolicyStatement({
        sid: 'CredentialsKey',
        actions: [use === 'encrypt' ? 'kms:Encrypt' : 'kms:Decrypt'],
        resources: [key.keyArn],
      }),
    );
    return this;
  }

  /**
   * Points the function at the workflow and grants what is asked, on this state machine only: start an
   * execution, answer a task token (SendTaskSuccess/Failure/Heartbeat), describe an execution.
   */
  bindStateMachine(stateMachine: IStateMachine, access: readonly StateMachineAccess[]): this {
    this.fn.addEnvironment(ENV.stateMachineArn, stateMachine.stateMachineArn);
    if (access.includes('start')) stateMachine.grantStartExecution(this.fn);
    if (access.includes('taskResponse')) stateMachine.grantTaskResponse(this.fn);
    if (access.includes('describeExecution')) {
      const grant = stateMachine.grantExecution(this.fn, 'states:DescribeExecution');
      for (const resource of grant.principalStatements.flatMap((s) => s.resources)) {
        acknowledgeWildcard(
          this,
          resource,
          "states:DescribeExecution (read-only) on this state machine's executions: one per request, named by its id, so the reconciler can find requests whose execution ended.",
        );
      }
    }
    return this;
  }

  /**
   * Lets the function hand early revokes to the revoke function: lambda:InvokeFunction on that function's
   * ARN only (the caller itself then needs no IAM or STS permission).
   */
  bindRevokeFunction(revoke: BrokerFunction): this {
    this.fn.addEnvironment(ENV.revokeFunctionName, revoke.fn.functionName);
    this.fn.addToRolePolicy(
      new PolicyStatement({
        sid: 'EarlyRevokeByRevokeFunction',
        actions: ['lambda:InvokeFunction'],
        resources: [revoke.fn.functionArn],
      }),
    );
    return this;
  }

  /**
   * Lets the function hand on-demand audit reviews to the review function: lambda:InvokeFunction on that
   * function's ARN only (the caller then needs no CloudTrail, Athena or STS permission of its own).
   */
  bindReviewFunction(review: BrokerFunction): this {
    // The env name the Lambda side reads for the review function (runtime config: reviewFunctionName).
    this.fn.addEnvironment('JIT_REVIEW_FUNCTION_NAME', review.fn.functionName);
    this.fn.addToRolePolicy(
      new PolicyStatement({
        sid: 'AuditReviewByReviewFunction',
        actions: ['lambda:InvokeFunction'],
        resources: [review.fn.functionArn],
      }),
    );
    return this;
  }

  /**
   * Points the function at the alert topic and lets it publish there only, with the topic key's data-key
   * operations SNS needs for an encrypted topic (break-glass announcements, overdue reviews).
   */
  bindAlertTopic(topic: ITopic, key: IKey): this {
    // The env name the Lambda side reads for the alert topic (runtime config: alertTopicArn).
    this.fn.addEnvironment('JIT_ALERT_TOPIC_ARN', topic.topicArn);
    this.fn.addToRolePolicy(
      new PolicyStatement({ sid: 'PublishAlerts', actions: ['sns:Publish'], resources: [topic.topicArn] }),
    );
    this.fn.addToRolePolicy(
      new PolicyStatement({
        sid: 'AlertTopicKey',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [key.keyArn],
      }),
    );
    return this;
  }

  /** Points the function at the Slack signing secret and lets it read that secret. */
  bindSlackSigningSecret(secret: ISecret): this {
    this.fn.addEnvironment(ENV.slackSigningSecretArn, secret.secretArn);
    secret.grantRead(this.fn);
    return this;
  }

  /** Points the function at the Slack bot token and lets it read that secret. */
  bindSlackBotToken(secret: ISecret): this {
    this.fn.addEnvironment(ENV.slackBotTokenArn, secret.secretArn);
    secret.grantRead(this.fn);
    return this;
  }
}
