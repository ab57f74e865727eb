import 'aws-sdk-client-mock-vitest/extend';
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SfnWorkflow } from '#adapters/sfn-workflow.ts';
import { TaskClosedError } from '#core/errors.ts';

const STATE_MACHINE = 'arn:aws:states:us-east-1:111122223333:stateMachine:JitBroker-Workflow';

describe('SfnWorkflow', () => {
  const client = new SFNClient({});
  const sfnMock = mockClient(client);
  const workflow = new SfnWorkflow(client, STATE_MACHINE);

  beforeEach(() => {
    sfnMock.reset();
  });

  it('starts one execution named after the request id with the request id as input', async () => {
    // Prepare
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: `${STATE_MACHINE}:req-0001` });
    // Act
    await workflow.start('req-0001');
    // Assess
    expect(sfnMock).toHaveReceivedCommandExactlyOnceWith(StartExecutionCommand, {
      stateMachineArn: STATE_MACHINE,
      name: 'req-0001',
    });
    const input = sfnMock.commandCalls(StartExecutionCommand)[0]?.args[0].input.input;
    expect(JSON.parse(input ?? 'null')).toEqual({ requestId: 'req-0001' });
  });

  it('treats ExecutionAlreadyExists as an already started workflow', async () => {
    // Prepare
    sfnMock
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: 'Execution already exists', $metadata: {} }));
    // Act
    const result = workflow.start('req-0001');
    // Assess
    await expect(result).resolves.toBeUndefined();
    expect(sfnMock).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
  });

  it('rethrows any other start error', async () => {
    // Prepare
    const missing = new StateMachineDoesNotExist({ message: 'no such state machine', $metadata: {} });
    sfnMock.on(StartExecutionCommand).rejects(missing);
    // Act
    const result = workflow.start('req-0001');
    // Assess
    await expect(result).rejects.toBe(missing);
  });

  it('sends the task success with the output as JSON', async () => {
    // Prepare
    sfnMock.on(SendTaskSuccessCommand).resolves({});
    // Act
    await workflow.sendSuccess('token-1', { decision: 'APPROVED', approvals: 2 });
    // Assess
    expect(sfnMock).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, { taskToken: 'token-1' });
    const output = sfnMock.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input.output;
    expect(JSON.parse(output ?? 'null')).toEqual({ decision: 'APPROVED', approvals: 2 });
  });

  it('turns a token no task waits for into TaskClosedError', async () => {
    // Prepare
    sfnMock
      .on(SendTaskSuccessCommand)
      .rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} }));
    // Act
    const result = workflow.sendSuccess('token-1', { decision: 'APPROVED' });
    // Assess
    await expect(result).rejects.toBeInstanceOf(TaskClosedError);
  });

  it('rethrows a throttled callback as it is (the caller may retry)', async () => {
    // Prepare
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    sfnMock.on(SendTaskSuccessCommand).rejects(throttled);
    // Act
    const result = workflow.sendSuccess('token-1', { decision: 'APPROVED' });
    // Assess
    await expect(result).rejects.toBe(throttled);
  });

  it('describes the execution named after the request id', async () => {
    // Prepare
    sfnMock.on(DescribeExecutionCommand).resolves({ status: 'ABORTED' });
    // Act
    const status = await workflow.status('req-0001');
    // Assess
    expect(status).toBe('ABORTED');
    expect(sfnMock).toHaveReceivedCommandExactlyOnceWith(DescribeExecutionCommand, {
      executionArn: 'arn:aws:states:us-east-1:111122223333:execution:JitBroker-Workflow:req-0001',
    });
  });

  it('answers NOT_FOUND for an execution Step Functions does not know', async () => {
    // Prepare
    sfnMock
      .on(DescribeExecutionCommand)
      .rejects(new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: {} }));
    // Act
    const status = await workflow.status('req-0001');
    // Assess
    expect(status).toBe('NOT_FOUND');
  });
});
