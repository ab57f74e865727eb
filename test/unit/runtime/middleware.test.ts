import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { countOutcome, log } from '#lambdas/runtime/logger.ts';
import { brokerRequestIdOf, invocationLog } from '#lambdas/runtime/middleware.ts';

const contextOf = (awsRequestId: string) => ({ awsRequestId }) as Context;

/** The JSON lines a console spy saw. */
function linesOf(spy: { mock: { calls: unknown[][] } }): Record<string, unknown>[] {
  return spy.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
}

/** A step entry that logs twice, across an await, like a handler that reads the store in between. */
function stepEntry() {
  return middy(async (event: { requestId: string }) => {
    log.info('step ran', { step: 'validate' });
    await new Promise((resolve) => setTimeout(resolve, 1));
    log.info('step done');
    return { requestId: event.requestId };
  }).use(invocationLog());
}

describe('invocationLog middleware', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('puts the Lambda and broker request ids on every line of an invocation, and coldStart on the first only', async () => {
    // Prepare
    const spy = vi.spyOn(console, 'log').mockImplementation(() => {});
    const handler = stepEntry();
    // Act
    await handler({ requestId: 'req-1' }, contextOf('aws-1'));
    await handler({ requestId: 'req-2' }, contextOf('aws-2'));
    // Assess
    expect(linesOf(spy)).toEqual([
      { level: 'INFO', message: 'cold start', awsRequestId: 'aws-1', requestId: 'req-1', coldStart: true },
      {
        level: 'INFO',
        message: 'step ran',
        awsRequestId: 'aws-1',
        requestId: 'req-1',
        coldStart: true,
        step: 'validate',
      },
      { level: 'INFO', message: 'step done', awsRequestId: 'aws-1', requestId: 'req-1', coldStart: true },
      { level: 'INFO', message: 'step ran', awsRequestId: 'aws-2', requestId: 'req-2', step: 'validate' },
      { level: 'INFO', message: 'step done', awsRequestId: 'aws-2', requestId: 'req-2' },
    ]);
  });

  it('takes the request id of an API route from its path, and logs none for an event without one', async () => {
    // Prepare
    const spy = vi.spyOn(console, 'log').mockImplementation(() => {});
    const handler = middy(async () => {
      log.info('handled');
    }).use(invocationLog());
    // Act
    await handler({ pathParameters: { id: 'req-7' } }, contextOf('aws-1'));
    await handler({ source: 'aws.events' }, contextOf('aws-2'));
    // Assess
    const lines = linesOf(spy);
    expect(lines[1]).toMatchObject({ message: 'handled', awsRequestId: 'aws-1', requestId: 'req-7' });
    expect(lines[2]).toEqual({ level: 'INFO', message: 'handled', awsRequestId: 'aws-2' });
  });

  it('puts the context on error lines and outcome metrics, and the entry’s own fields win', async () => {
    // Prepare
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    const spy = vi.spyOn(console, 'log').mockImplementation(() => {});
    const handler = middy(async () => {
      log.error('slack card post failed', new Error('boom'), { requestId: 'req-other', missing: undefined });
      countOutcome('RevokeFailed', 'jit-broker');
    }).use(invocationLog());
    // Act
    await handler({ requestId: 'req-1' }, contextOf('aws-1'));
    // Assess
    expect(linesOf(errors)[0]).toMatchObject({
      level: 'ERROR',
      awsRequestId: 'aws-1',
      requestId: 'req-other',
      coldStart: true,
      error: { name: 'Error', message: 'boom' },
    });
    expect(linesOf(spy)[1]).toMatchObject({ awsRequestId: 'aws-1', requestId: 'req-1', RevokeFailed: 1 });
  });

  it('logs without awsRequestId when a harness passes no Lambda context', async () => {
    // Prepare
    const spy = vi.spyOn(console, 'log').mockImplementation(() => {});
    const handler = stepEntry();
    // Act
    await handler({ requestId: 'req-1' }, undefined as unknown as Context);
    // Assess
    expect(linesOf(spy)[0]).toEqual({
      level: 'INFO',
      message: 'cold start',
      requestId: 'req-1',
      coldStart: true,
    });
  });

  it('clears the context when the invocation ends, even when the handler throws', async () => {
    // Prepare
    const spy = vi.spyOn(console, 'log').mockImplementation(() => {});
    const handler = middy(async () => {
      throw new Error('step failed');
    }).use(invocationLog());
    // Act
    await expect(handler({ requestId: 'req-1' }, contextOf('aws-1'))).rejects.toThrow('step failed');
    log.info('between invocations');
    // Assess
    expect(linesOf(spy).at(-1)).toEqual({ level: 'INFO', message: 'between invocations' });
  });
});

describe('brokerRequestIdOf', () => {
  it('reads step payloads and API paths, never a body', () => {
    // Act + Assess
    expect(brokerRequestIdOf({ requestId: 'a1b2-c3' })).toBe('a1b2-c3');
    expect(brokerRequestIdOf({ pathParameters: { id: 'a1b2-c3' } })).toBe('a1b2-c3');
    expect(brokerRequestIdOf({ pathParameters: null, body: 'payload=%7B%22requestId%22%3A%22x%22%7D' })).toBe(
      undefined,
    );
  });

  it('ignores ids that are not shaped like a broker request id', () => {
    // Act + Assess
    expect(brokerRequestIdOf({ pathParameters: { id: '../../etc' } })).toBe(undefined);
    expect(brokerRequestIdOf({ requestId: 'x'.repeat(81) })).toBe(undefined);
    expect(brokerRequestIdOf(undefined)).toBe(undefined);
  });
});

describe('Lambda entries', () => {
  it('all use the invocationLog middleware', () => {
    // Prepare
    const lambdas = resolve(import.meta.dirname, '../../../lambdas');
    const entries = readdirSync(lambdas, { withFileTypes: true })
      .filter((e) => e.isDirectory() && readdirSync(join(lambdas, e.name)).includes('index.ts'))
      .map((e) => e.name);
    // Act
    const without = entries.filter(
      (name) => !readFileSync(join(lambdas, name, 'index.ts'), 'utf8').includes('.use(invocationLog())'),
    );
    // Assess
    expect(entries).toHaveLength(11);
    expect(without).toEqual([]);
  });
});
