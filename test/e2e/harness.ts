import { inject } from 'vitest';
import type { AccessRequest, AuditEvent } from '#core/model.ts';
import { type PolicyConfigInput, parsePolicyConfig } from '#core/policy/config.ts';
import { type LocalBroker, type LocalBrokerOptions, startLocalBroker } from '../../local/runtime.ts';
import { ACCOUNT, arn } from '../support/fakes.ts';

export { ACCOUNT, arn };

export const DEV = (name: string) => arn.assumed('Developer', name);
export const APPROVER = (name: string) => arn.assumed('Approver', name);

/** A config whose durations can be a few seconds, so a whole lifecycle fits in a test. */
export function e2eConfig(overrides: Partial<PolicyConfigInput> = {}): PolicyConfigInput {
  return {
    approvalWindowSeconds: 120,
    defaultDurationSeconds: 3,
    minDurationSeconds: 1,
    maxDurationSeconds: 3600,
    rules: [
      {
        id: 'app-read',
        requesters: [DEV('*')],
        targets: [arn.role('app-*')],
        actions: ['s3:GetObject', 's3:ListBucket'],
        resources: ['arn:aws:s3:::app-data', 'arn:aws:s3:::app-data/*'],
        maxDurationSeconds: 3600,
        approval: { approvers: [APPROVER('*')], minApprovals: 1 },
      },
      {
        id: 'logs-auto',
        requesters: [DEV('*')],
        targets: [arn.role('ops-*')],
        actions: ['logs:GetLogEvents'],
        resources: [`arn:aws:logs:us-east-1:${ACCOUNT}:log-group:/app/*`],
        maxDurationSeconds: 600,
        approval: 'auto',
      },
    ],
    ...overrides,
  };
}

/** Starts a local broker on the run's shared DynamoDB Local (own table), a free port, fast retries. */
export function startBroker(
  config: PolicyConfigInput = e2eConfig(),
  extra: Partial<LocalBrokerOptions> = {},
): Promise<LocalBroker> {
  return startLocalBroker({
    ...extra,
    config: parsePolicyConfig(config),
    port: 0,
    ddbEndpoint: inject('ddbEndpoint'),
    retryIntervalMs: 20,
    // The sweeper only runs when a test calls broker.sweep(); then it takes any grant past expiry.
    sweepGraceSeconds: 0,
    log: () => {},
  });
}

/** A JSON response. */
export interface Reply<T = Record<string, unknown>> {
  readonly status: number;
  readonly body: T;
}

/** Calls the local HTTP API as `principal` (undefined: no identity header at all). */
export async function call<T = Record<string, unknown>>(
  broker: LocalBroker,
  principal: string | undefined,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<Reply<T>> {
  const res = await fetch(`${broker.url}${path}`, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(principal ? { 'x-jit-principal': principal } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as T };
}

/** The body of a policy request on `app-reader` for one object. */
export function readRequest(overrides: Record<string, unknown> = {}) {
  return {
    target: arn.role('app-reader'),
    permissions: [{ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::app-data/reports/q3.csv'] }],
    durationSeconds: 3,
    reason: 'e2e: read the Q3 report',
    ticket: 'OPS-1',
    ...overrides,
  };
}

/** Submits a request and returns its id (fails the test on anything but 202). */
export async function submit(broker: LocalBroker, requester: string, body: unknown): Promise<string> {
  const reply = await call<{ requestId: string }>(broker, requester, 'POST', '/requests', body);
  if (reply.status !== 202) throw new Error(`submit answered ${reply.status}: ${JSON.stringify(reply.body)}`);
  return reply.body.requestId;
}

/** Reads the stored request (through the store, as an auditor would). */
export async function stored(broker: LocalBroker, id: string): Promise<AccessRequest> {
  const r = await broker.deps.store.get(id);
  if (!r) throw new Error(`request ${id} not found`);
  return r;
}

/** Polls until the request reaches `status` (or any of them), failing after `timeoutMs`. */
export async function waitForStatus(
  broker: LocalBroker,
  id: string,
  status: string | readonly string[],
  timeoutMs = 20_000,
): Promise<AccessRequest> {
  const wanted = typeof status === 'string' ? [status] : status;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await stored(broker, id);
    if (wanted.includes(r.status)) return r;
    if (Date.now() > deadline)
      throw new Error(`request ${id} is ${r.status}, waited for ${wanted.join('|')}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** Waits until the request's workflow execution has ended and returns how it ended. */
export async function executionEnd(broker: LocalBroker, id: string) {
  const execution = broker.workflow.executions.get(id);
  if (!execution) throw new Error(`no execution ${id}`);
  await execution.done;
  return execution;
}

/** The statuses of a request's events, in order. */
export async function statuses(broker: LocalBroker, id: string): Promise<string[]> {
  return (await broker.deps.store.events(id)).map((e: AuditEvent) => e.to);
}

/** The inline policies the simulated account holds on a role now. */
export function policiesOn(broker: LocalBroker, roleName: string): Record<string, string> {
  return broker.iam.policiesOf(arn.role(roleName));
}
