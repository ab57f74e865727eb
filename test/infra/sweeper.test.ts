import { App, Duration, Stack } from 'aws-cdk-lib';
import { Table } from 'aws-cdk-lib/aws-dynamodb';
import { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { describe, expect, it } from 'vitest';
import { Sweeper } from '../../lib/sweeper.ts';
import { testConfig } from '../support/fakes.ts';

function sweeperWith(interval: Duration) {
  const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Probe');
  return () =>
    new Sweeper(stack, 'Sweeper', {
      policy: testConfig(),
      table: Table.fromTableName(stack, 'Table', 'audit'),
      stateMachine: StateMachine.fromStateMachineName(stack, 'Workflow', 'workflow'),
      interval,
    });
}

describe('Sweeper', () => {
  it('refuses an interval shorter than a minute or not in whole minutes', () => {
    // Act
    const tooShort = sweeperWith(Duration.seconds(30));
    const fractional = sweeperWith(Duration.seconds(90));
    // Assess
    expect(tooShort).toThrow(/whole number of minutes, at least 1/);
    expect(fractional).toThrow(/whole number of minutes, at least 1/);
  });
});
