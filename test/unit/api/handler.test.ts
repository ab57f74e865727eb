import { afterEach, describe, expect, it, vi } from 'vitest';
import { VerificationError } from '#core/errors.ts';
import { submitRequest } from '#core/requests/requests.ts';
import { createApiHandler } from '#lambdas/api/handler.ts';
import { type ApiCall, apiEvent, bodyOf } from '../../support/api-event.ts';
import {
  ALICE,
  arn,
  BOB,
  CAROL,
  fakeDeps,
  grantedRequest,
  MALLORY,
  pendingRequest,
  validBody,
} from '../../support/fakes.ts';

interface ErrorEnvelope {
  error: { code: string; message: string; details?: { field: string; message: string }[] };
}

/** A handler over fresh fake deps, and a `call` that builds the API Gateway event. */
function api(env = fakeDeps()) {
  const handler = createApiHandler(env.deps);
  const call = (c: ApiCall) => handler(apiEvent(c));
  return { ...env, handler, call };
}

const submit = (caller: string | null, body: unknown = validBody(), headers?: Record<string, string>) => ({
  method: 'POST' as const,
  resource: '/requests',
  caller,
  body,
  ...(headers ? { headers } : {}),
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('POST /requests', () => {
  it('answers 202 with the request id and status', async () => {
    // Prepare
    const { call, store } = api();
    // Act
    const response = await call(submit(ALICE));
    // Assess
    expect(response.statusCode).toBe(202);
    expect(response.headers).toMatchObject({ 'content-type': 'application/json' });
    expect(bodyOf(response)).toEqual({ requestId: 'req-0001', status: 'REQUESTED' });
    expect((await store.get('req-0001'))?.requester).toBe(ALICE);
  });

  it('accepts a base64-encoded body', async () => {
    // Prepare
    const { call } = api();
    // Act
    const response = await call({ ...submit(ALICE), base64: true });
    // Assess
    expect(response.statusCode).toBe(202);
  });

  it('answers 400 InvalidRequest with field details for an invalid body', async () => {
    // Prepare
    const { call, store } = api();
    const body = validBody({ permissions: [{ actions: ['iam:PassRole'], resources: ['*'] }] });
    // Act
    const response = await call(submit(ALICE, body));
    // Assess
    expect(response.statusCode).toBe(400);
    const { error } = bodyOf<ErrorEnvelope>(response);
    expect(Object.keys(error).sort()).toEqual(['code', 'details', 'message']);
    expect(error.code).toBe('InvalidRequest');
    expect(typeof error.message).toBe('string');
    expect(error.details).toEqual([{ field: 'permissions[0].actions[0]', message: expect.any(String) }]);
    expect(store.requests.size).toBe(0);
  });

  it('answers 403 NotEligible for a caller no rule lists', async () => {
    // Prepare
    const { call, store } = api();
    // Act
    const response = await call(submit(MALLORY));
    // Assess
    expect(response.statusCode).toBe(403);
    expect(bodyOf<ErrorEnvelope>(response).error).toMatchObject({
      code: 'NotEligible',
      details: [{ field: 'target' }],
    });
    expect(store.requests.size).toBe(0);
  });

  it('answers 400 for a body that is not JSON', async () => {
    // Prepare
    const { call } = api();
    // Act
    const response = await call(submit(ALICE, '{"kind": "policy",'));
    // Assess
    expect(response.statusCode).toBe(400);
    expect(bodyOf<ErrorEnvelope>(response).error).toMatchObject({
      code: 'InvalidRequest',
      details: [{ field: '(body)' }],
    });
  });

  it('answers 400 for an empty body', async () => {
    // Prepare
    const { call } = api();
    // Act
    const response = await call({ method: 'POST', resource: '/requests', caller: ALICE });
    // Assess
    expect(response.statusCode).toBe(400);
    expect(bodyOf<ErrorEnvelope>(response).error.details?.map((d) => d.field)).toEqual(
      expect.arrayContaining(['target', 'permissions', 'reason']),
    );
  });
});

describe('caller identity', () => {
  it.each(['requester', 'caller'])('refuses a body field %s as unknown', async (field) => {
    // Prepare
    const { call, store } = api();
    // Act
    const response = await call(submit(MALLORY, validBody({ [field]: ALICE })));
    // Assess
    expect(response.statusCode).toBe(400);
    expect(bodyOf<ErrorEnvelope>(response).error.details).toEqual([
      { field, message: 'is not a known field' },
    ]);
    expect(store.requests.size).toBe(0);
  });

  it('ignores headers that claim another identity and stores the authenticated caller', async () => {
    // Prepare
    const { call, store } = api();
    const spoof = {
      'x-jit-principal': MALLORY,
      'x-amz-user-arn': MALLORY,
      'x-amzn-principal-arn': MALLORY,
      'x-amz-security-token': 'forged',
    };
    // Act
    const response = await call(submit(ALICE, validBody(), spoof));
    // Assess
    expect(response.statusCode).toBe(202);
    const stored = await store.get(bodyOf<{ requestId: string }>(response).requestId);
    expect(stored?.requester).toBe(ALICE);
    expect((await store.events(stored?.id ?? ''))[0]?.actor).toBe(ALICE);
  });

  it('does not let a header make an ineligible caller eligible', async () => {
    // Prepare
    const { call, store } = api();
    // Act
    const response = await call(submit(MALLORY, validBody(), { 'x-jit-principal': ALICE }));
    // Assess
    expect(response.statusCode).toBe(403);
    expect(store.requests.size).toBe(0);
  });

  it('does not let a header turn the requester into an approver', async () => {
    // Prepare
    const { call, deps, store } = api();
    const id = await pendingRequest(deps);
    // Act
    const response = await call({
      method: 'POST',
      resource: '/requests/{id}/approve',
      id,
      caller: ALICE,
      body: {},
      headers: { 'x-jit-principal': BOB, 'x-amz-user-arn': BOB },
    });
    // Assess
    expect(response.statusCode).toBe(403);
    expect(bodyOf<ErrorEnvelope>(response).error.code).toBe('SelfApproval');
    expect((await store.get(id))?.status).toBe('PENDING_APPROVAL');
  });

  it.each([null, ''])('answers 401 when API Gateway passes no IAM identity (%j)', async (caller) => {
    // Prepare
    const { call, store } = api();
    // Act
    const response = await call({ ...submit(null, validBody(), { 'x-jit-principal': ALICE }), caller });
    // Assess
    expect(response.statusCode).toBe(401);
    expect(bodyOf<ErrorEnvelope>(response).error.code).toBe('Unauthenticated');
    expect(store.requests.size).toBe(0);
  });
});

describe('GET /requests/{id}', () => {
  it('shows the requester the request and its events without the task token', async () => {
    // Prepare
    const { call, deps } = api();
    const id = await pendingRequest(deps, { token: 'secret-task-token' });
    // Act
    const response = await call({ method: 'GET', resource: '/requests/{id}', id, caller: ALICE });
    // Assess
    expect(response.statusCode).toBe(200);
    const body = bodyOf(response);
    expect(body).toMatchObject({ id, status: 'PENDING_APPROVAL', requester: ALICE });
    expect(body).not.toHaveProperty('taskToken');
    expect(body).not.toHaveProperty('lastHash');
    expect(response.body).not.toContain('secret-task-token');
    expect((body.events as unknown[]).length).toBe(2);
  });

  it('answers 403 to an outsider', async () => {
    // Prepare
    const { call, deps } = api();
    const id = await pendingRequest(deps);
    // Act
    const response = await call({ method: 'GET', resource: '/requests/{id}', id, caller: MALLORY });
    // Assess
    expect(response.statusCode).toBe(403);
    expect(bodyOf<ErrorEnvelope>(response).error.code).toBe('Forbidden');
  });

  it('answers 404 for an unknown id', async () => {
    // Prepare
    const { call } = api();
    // Act
    const response = await call({ method: 'GET', resource: '/requests/{id}', id: 'req-9999', caller: ALICE });
    // Assess
    expect(response.statusCode).toBe(404);
    expect(bodyOf<ErrorEnvelope>(response).error.code).toBe('NotFound');
  });

  it('answers 400 for an id that cannot be a request id', async () => {
    // Prepare
    const { call } = api();
    // Act
    const response = await call({
      method: 'GET',
      resource: '/requests/{id}',
      id: '../etc/passwd',
      caller: ALICE,
    });
    // Assess
    expect(response.statusCode).toBe(400);
    expect(bodyOf<ErrorEnvelope>(response).error.details).toEqual([
      { field: 'id', message: expect.any(String) },
    ]);
  });
});

describe('GET /requests', () => {
  it("lists only the caller's own requests, without task tokens", async () => {
    // Prepare
    const { call, deps } = api();
    await pendingRequest(deps, { token: 'secret-task-token' });
    // Act
    const mine = await call({ method: 'GET', resource: '/requests', caller: ALICE });
    const theirs = await call({ method: 'GET', resource: '/requests', caller: MALLORY });
    // Assess
    expect(mine.statusCode).toBe(200);
    expect(bodyOf<{ requests: { id: string }[] }>(mine).requests.map((r) => r.id)).toEqual(['req-0001']);
    expect(mine.body).not.toContain('secret-task-token');
    expect(bodyOf(theirs)).toEqual({ requests: [] });
  });

  it('pages with limit and next, newest first, every request exactly once', async () => {
    // Prepare
    const { call, deps, clock } = api();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await submitRequest(deps, ALICE, validBody())).requestId);
      clock.advance(1);
    }
    // Act
    const seen: string[] = [];
    const sizes: number[] = [];
    let next: string | undefined;
    do {
      const query: Record<string, string> = { limit: '2', ...(next ? { next } : {}) };
      const page = bodyOf<{ requests: { id: string }[]; next?: string }>(
        await call({ method: 'GET', resource: '/requests', caller: ALICE, query }),
      );
      sizes.push(page.requests.length);
      seen.push(...page.requests.map((r) => r.id));
      next = page.next;
    } while (next);
    // Assess
    expect(sizes).toEqual([2, 2, 1]);
    expect(seen).toEqual([...ids].reverse());
  });

  it.each([['0'], ['101'], ['ten']])('answers 400 naming "limit" for limit=%s', async (limit) => {
    // Prepare
    const { call } = api();
    // Act
    const response = await call({ method: 'GET', resource: '/requests', caller: ALICE, query: { limit } });
    // Assess
    expect(response.statusCode).toBe(400);
    expect(bodyOf<ErrorEnvelope>(response).error.details?.[0]?.field).toBe('limit');
  });
});

describe('GET /rules', () => {
  it('answers 200 with the rules the caller may request under, and an outsider with none', async () => {
    // Prepare
    const { call } = api();
    // Act
    const mine = await call({ method: 'GET', resource: '/rules', caller: ALICE });
    const outsider = await call({ method: 'GET', resource: '/rules', caller: MALLORY });
    // Assess
    expect(mine.statusCode).toBe(200);
    const { rules } = bodyOf<{ rules: { id: string; approval: unknown }[] }>(mine);
    expect(rules.map((r) => r.id)).toEqual(['app-read', 'logs-auto', 'user-read']);
    expect(rules[0]).toEqual({
      id: 'app-read',
      kind: 'policy',
      targets: [arn.role('app-*')],
      actions: ['s3:GetObject', 's3:ListBucket', 'dynamodb:Get*'],
      resources: expect.any(Array),
      maxDurationSeconds: 3600,
      approval: { minApprovals: 1, approvers: [arn.assumed('Approver', '*')] },
    });
    expect(mine.body).not.toContain('app-broker-');
    expect(outsider.statusCode).toBe(200);
    expect(bodyOf(outsider)).toEqual({ rules: [] });
  });
});

describe('GET /pending', () => {
  it('answers 200 with the requests awaiting the caller, in the public shape, and none to the requester', async () => {
    // Prepare
    const { call, deps } = api();
    const id = await pendingRequest(deps, { token: 'secret-task-token' });
    // Act
    const approver = await call({ method: 'GET', resource: '/pending', caller: BOB });
    const requester = await call({ method: 'GET', resource: '/pending', caller: ALICE });
    // Assess
    expect(approver.statusCode).toBe(200);
    const { requests } = bodyOf<{ requests: { id: string; status: string }[] }>(approver);
    expect(requests).toEqual([expect.objectContaining({ id, status: 'PENDING_APPROVAL', requester: ALICE })]);
    expect(approver.body).not.toContain('secret-task-token');
    expect(approver.body).not.toContain('lastHash');
    expect(requester.statusCode).toBe(200);
    expect(bodyOf(requester)).toEqual({ requests: [], reviews: [] });
  });
});

describe('POST /requests/{id}/approve and /deny', () => {
  const approve = (id: string, caller: string, body: unknown = {}) => ({
    method: 'POST' as const,
    resource: '/requests/{id}/approve',
    id,
    caller,
    body,
  });

  it('answers 200 to an approver and records the vote', async () => {
    // Prepare
    const { call, deps, workflow } = api();
    const id = await pendingRequest(deps);
    // Act
    const response = await call(approve(id, BOB, { comment: 'ok' }));
    // Assess
    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toEqual({ requestId: id, status: 'APPROVED', approvals: 1, required: 1 });
    expect(workflow.callbacks).toHaveLength(1);
  });

  it('answers 403 SelfApproval to the requester', async () => {
    // Prepare
    const { call, deps } = api();
    const id = await pendingRequest(deps);
    // Act
    const response = await call(approve(id, ALICE));
    // Assess
    expect(response.statusCode).toBe(403);
    expect(bodyOf<ErrorEnvelope>(response).error.code).toBe('SelfApproval');
  });

  it('answers 403 NotApprover to someone outside the rule', async () => {
    // Prepare
    const { call, deps } = api();
    const id = await pendingRequest(deps);
    // Act
    const response = await call(approve(id, MALLORY));
    // Assess
    expect(response.statusCode).toBe(403);
    expect(bodyOf<ErrorEnvelope>(response).error.code).toBe('NotApprover');
  });

  it('answers 409 NotPending after the decision', async () => {
    // Prepare
    const { call, deps, workflow } = api();
    const id = await pendingRequest(deps);
    await call(approve(id, BOB));
    // Act
    const response = await call(approve(id, CAROL));
    // Assess
    expect(response.statusCode).toBe(409);
    expect(bodyOf<ErrorEnvelope>(response).error.code).toBe('NotPending');
    expect(workflow.callbacks).toHaveLength(1);
  });

  it('answers 400 to an approval body with unknown fields', async () => {
    // Prepare
    const { call, deps, store } = api();
    const id = await pendingRequest(deps);
    // Act
    const response = await call(approve(id, BOB, { approver: CAROL }));
    // Assess
    expect(response.statusCode).toBe(400);
    expect(bodyOf<ErrorEnvelope>(response).error.details).toEqual([
      { field: 'approver', message: 'is not a known field' },
    ]);
    expect((await store.get(id))?.status).toBe('PENDING_APPROVAL');
  });

  it('answers 400 to a denial without a reason and 200 with one', async () => {
    // Prepare
    const { call, deps, workflow } = api();
    const id = await pendingRequest(deps);
    const deny = { method: 'POST' as const, resource: '/requests/{id}/deny', id, caller: BOB };
    // Act
    const without = await call({ ...deny, body: {} });
    const withReason = await call({ ...deny, body: { reason: 'change freeze' } });
    // Assess
    expect(without.statusCode).toBe(400);
    expect(bodyOf<ErrorEnvelope>(without).error.details?.[0]?.field).toBe('reason');
    expect(withReason.statusCode).toBe(200);
    expect(bodyOf(withReason)).toMatchObject({ status: 'DENIED' });
    expect(workflow.callbacks).toEqual([{ token: `token-${id}`, output: { decision: 'DENIED' } }]);
  });
});

describe('POST /requests/{id}/cancel and /revoke', () => {
  it('lets the requester cancel a pending request', async () => {
    // Prepare
    const { call, deps } = api();
    const id = await pendingRequest(deps);
    // Act
    const response = await call({ method: 'POST', resource: '/requests/{id}/cancel', id, caller: ALICE });
    // Assess
    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toEqual({ requestId: id, status: 'CANCELLED' });
  });

  it('answers 202 to an early revoke by the requester and 403 to an outsider', async () => {
    // Prepare
    const { call, deps, iam } = api();
    const id = await grantedRequest(deps);
    const revoke = {
      method: 'POST' as const,
      resource: '/requests/{id}/revoke',
      id,
      body: { reason: 'done' },
    };
    // Act
    const outsider = await call({ ...revoke, caller: MALLORY });
    const requester = await call({ ...revoke, caller: ALICE });
    // Assess
    expect(outsider.statusCode).toBe(403);
    expect(requester.statusCode).toBe(202);
    expect(bodyOf(requester)).toMatchObject({ requestId: id, status: 'REVOKED', alreadyRevoked: false });
    expect(iam.snapshot()).toEqual([]);
  });

  it('hands an early revoke to the revoke function, never calling IAM itself', async () => {
    // Prepare: an API whose IAM port fails every call, as the API function holds no IAM permission.
    const env = fakeDeps();
    const id = await grantedRequest(env.deps);
    const handedOver: unknown[] = [];
    const noIam = new Proxy(env.iam, {
      get: () => () => Promise.reject(new Error('AccessDenied: the API function has no IAM permission')),
    });
    const handler = createApiHandler({
      ...env.deps,
      iam: noIam,
      revocations: {
        revoke: async (requestId, actor, reason) => {
          handedOver.push({ requestId, actor, reason });
          return env.deps.revocations.revoke(requestId, actor, reason);
        },
      },
    });
    // Act
    const response = await handler(
      apiEvent({
        method: 'POST',
        resource: '/requests/{id}/revoke',
        id,
        caller: ALICE,
        body: { reason: 'done' },
      }),
    );
    // Assess
    expect(response.statusCode).toBe(202);
    expect(handedOver).toEqual([{ requestId: id, actor: ALICE, reason: 'done' }]);
    expect(env.iam.snapshot()).toEqual([]);
  });

  it('answers 409 NotGranted to a revoke of a request that holds no grant', async () => {
    // Prepare
    const { call, deps } = api();
    const id = await pendingRequest(deps);
    // Act
    const response = await call({ method: 'POST', resource: '/requests/{id}/revoke', id, caller: ALICE });
    // Assess
    expect(response.statusCode).toBe(409);
    expect(bodyOf<ErrorEnvelope>(response).error.code).toBe('NotGranted');
  });
});

describe('routing and failures', () => {
  it.each([
    ['DELETE', '/requests/{id}'],
    ['GET', '/admin'],
    ['PUT', '/requests'],
  ] as const)('answers 404 to %s %s', async (method, resource) => {
    // Prepare
    const { call } = api();
    // Act
    const response = await call({ method, resource, id: 'req-0001', caller: ALICE });
    // Assess
    expect(response.statusCode).toBe(404);
    expect(bodyOf<ErrorEnvelope>(response).error.code).toBe('NotFound');
  });

  it('answers 500 with a generic message and no stack when the store throws', async () => {
    // Prepare
    const env = api();
    vi.spyOn(env.store, 'get').mockRejectedValue(
      new Error('ECONNRESET dynamodb.internal:443 table jit-prod'),
    );
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    // Act
    const response = await env.call({
      method: 'GET',
      resource: '/requests/{id}',
      id: 'req-0001',
      caller: ALICE,
    });
    // Assess
    expect(response.statusCode).toBe(500);
    expect(bodyOf(response)).toEqual({
      error: { code: 'InternalError', message: 'internal error; see the broker logs' },
    });
    expect(response.body).not.toMatch(/ECONNRESET|jit-prod|stack|at .*\.ts/);
    expect(logged).toHaveBeenCalledTimes(1);
    expect(String(logged.mock.calls[0]?.[0])).toContain('ECONNRESET');
  });

  it('answers 500 to a domain error that has no HTTP meaning, without its message', async () => {
    // Prepare
    const env = api();
    const secret = 'read-back of jit-x on arn:aws:iam::111122223333:role/secret failed';
    vi.spyOn(env.store, 'get').mockRejectedValue(new VerificationError(secret));
    vi.spyOn(console, 'error').mockImplementation(() => {});
    // Act
    const response = await env.call({
      method: 'GET',
      resource: '/requests/{id}',
      id: 'req-0001',
      caller: ALICE,
    });
    // Assess
    expect(response.statusCode).toBe(500);
    expect(bodyOf<ErrorEnvelope>(response).error.code).toBe('InternalError');
    expect(response.body).not.toContain('role/secret');
  });
});
