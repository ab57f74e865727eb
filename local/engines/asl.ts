// local/engines/: the real engines of the local runtime (DynamoDB Local, the synthesized ASL runner).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import type { PolicyConfig } from '#core/policy/config.ts';
import { buildBrokerApp } from '../../lib/app.ts';
import type { HandlerName } from '../../lib/broker-function.ts';

/** A state machine definition as Step Functions reads it (the subset the local runtime looks at). */
export interface AslDefinition {
  readonly StartAt: string;
  readonly States: Record<string, AslState>;
  readonly [key: string]: unknown;
}

/** One state of the definition (only the fields the local runtime inspects are typed). */
export interface AslState {
  readonly Type: string;
  readonly Resource?: string;
  readonly Parameters?: { readonly FunctionName?: string; readonly [key: string]: unknown };
  readonly [key: string]: unknown;
}

/** The synthesized workflow: its exact ASL, and for each Task state the broker handler it invokes. */
export interface SynthesizedWorkflow {
  readonly definition: AslDefinition;
  readonly taskHandlers: Readonly<Record<string, HandlerName>>;
  /** Task states that use the `.waitForTaskToken` callback pattern. */
  readonly callbackStates: readonly string[];
}

/** Prefix of the local stand-in ARNs that replace the functions' `Fn::GetAtt … Arn`. */
const LOCAL_FUNCTION_ARN = 'arn:aws:lambda:local:000000000000:function:';

/**
 * Resolves the CloudFormation intrinsics that occur in the definition string: `Fn::Join` of strings,
 * `Ref AWS::Partition`, and `Fn::GetAtt [<function>, Arn]` (replaced by a local ARN naming the handler).
 * Anything else is refused, so a definition the local runtime cannot represent faithfully never runs.
 */
export function resolveDefinitionString(
  value: unknown,
  functionByLogicalId: Record<string, HandlerName>,
): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if (Array.isArray(v['Fn::Join'])) {
    const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => resolveDefinitionString(p, functionByLogicalId)).join(sep);
  }
  if (v.Ref === 'AWS::Partition') return 'aws';
  const getAtt = v['Fn::GetAtt'] as [string, string] | undefined;
  if (getAtt && getAtt[1] === 'Arn') {
    const handler = functionByLogicalId[getAtt[0]];
    if (!handler)
      throw new Error(`the state machine references ${getAtt[0]}, which is not a broker function`);
    return `${LOCAL_FUNCTION_ARN}${handler}`;
  }
  throw new Error(`cannot resolve ${JSON.stringify(value)} in the state machine definition`);
}

/**
 * Synthesizes the broker app for `policy` (in process, without bundling or cdk-nag) and returns the state
 * machine's definition exactly as the template carries it, with only the function ARNs made local.
 */
export function synthesizeWorkflow(policy: PolicyConfig): SynthesizedWorkflow {
  const outdir = mkdtempSync(join(tmpdir(), 'jit-local-synth-'));
  try {
    const { app, broker } = buildBrokerApp({
      policy,
      nag: false,
      appProps: { outdir, context: { 'aws:cdk:bundling-stacks': [] } },
    });
    const functionByLogicalId: Record<string, HandlerName> = {};
    for (const [name, fn] of Object.entries(broker.functions)) {
      const logicalId = Stack.of(fn).getLogicalId(fn.fn.node.defaultChild as CfnFunction);
      functionByLogicalId[logicalId] = name as HandlerName;
    }
    const template = app.synth().getStackByName(broker.stackName).template as {
      Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
    };
    const machines = Object.values(template.Resources).filter(
      (r) => r.Type === 'AWS::StepFunctions::StateMachine',
    );
    if (machines.length !== 1)
      throw new Error(`expected one state machine in the template, found ${machines.length}`);
    const definition = JSON.parse(
      resolveDefinitionString(machines[0]?.Properties.DefinitionString, functionByLogicalId),
    ) as AslDefinition;
    const taskHandlers: Record<string, HandlerName> = {};
    const callbackStates: string[] = [];
    for (const [name, state] of Object.entries(definition.States)) {
      if (state.Type !== 'Task') continue;
      const fn = state.Parameters?.FunctionName;
      if (typeof fn !== 'string' || !fn.startsWith(LOCAL_FUNCTION_ARN)) {
        throw new Error(`task state ${name} does not invoke a broker function`);
      }
      taskHandlers[name] = fn.slice(LOCAL_FUNCTION_ARN.length) as HandlerName;
      if (state.Resource?.endsWith('.waitForTaskToken')) callbackStates.push(name);
    }
    return { definition, taskHandlers, callbackStates };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
