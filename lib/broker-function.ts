import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { TABLE_SCHEMA } from '#adapters/table-schema.ts';
import type { PolicyConfig } from '#core/policy/config.ts';
import { ENV, POLICY_FILE_NAME } from '#lambdas/config.ts';

/** Repository root (the Lambda entries live under `lambdas/`). */
export const PROJECT_ROOT = resolve(import.meta.dirname, '..');

/** The Lambda entries of the broker, by name (`lambdas/<name>/index.ts`). */
export type HandlerName = 'api' | 'validate' | 'await-approval' | 'grant' | 'revoke' | 'sweeper' | 'slack';

/** Props of {@link BrokerFunction}. */
export interface BrokerFunctionProps {
  /** Which entry under `lambdas/` to bundle. */
  readonly handler: HandlerName;
  /** The validated policy config; copied into the bundle as `jit-policy.json`. */
  readonly policy: PolicyConfig;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default RetentionDays.ONE_YEAR */
  readonly logRetention?: RetentionDays;
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
 * `bindTable()` sets the table env var and grants read/write in one call.
 */
export class BrokerFunction extends Construct {
  public readonly fn: NodejsFunction;

  constructor(scope: Construct, id: string, props: BrokerFunctionProps) {
    super(scope, id);
    const policyFile = policyFileFor(props.policy);
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
        externalModules: [],
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_input: string, output: string) => [
            `cp "${policyFile}" "${output}/${POLICY_FILE_NAME}"`,
          ],
        },
      },
    });
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
}
