import { describe, expect, it } from 'vitest';
import { matchPath, ROUTES, routeKey, SLACK_ROUTE, USER_ROUTES } from '#lambdas/api/contract.ts';
import { API_ROUTE_KEYS, createApiHandler } from '#lambdas/api/handler.ts';
import { apiEvent, bodyOf } from '../../support/api-event.ts';
import { ALICE, fakeDeps } from '../../support/fakes.ts';

const keys = (routes: readonly { method: string; path: string }[]) =>
  routes.map((r) => routeKey(r.method, r.path));

describe('HTTP contract', () => {
  it('declares each route once', () => {
    // Act
    const all = keys(ROUTES);
    // Assess
    expect(new Set(all).size).toBe(all.length);
    expect(all).toContain(routeKey(SLACK_ROUTE.method, SLACK_ROUTE.path));
  });

  it('answers 202 for a new request, an extension and an early revoke, 200 for every other route', () => {
    // Act
    const accepted = ROUTES.filter((r) => r.success === 202);
    // Assess
    expect(keys(accepted).sort()).toEqual([
      'POST /requests',
      'POST /requests/{id}/extend',
      'POST /requests/{id}/revoke',
    ]);
  });

  it('has the API handler answer exactly the user routes', () => {
    // Assess
    expect([...API_ROUTE_KEYS].sort()).toEqual(keys(USER_ROUTES).sort());
  });

  it.each(USER_ROUTES.map((r) => [routeKey(r.method, r.path), r] as const))(
    'has the API handler answer %s with its function, not the no-route 404',
    async (_key, route) => {
      // Prepare
      const handler = createApiHandler(fakeDeps().deps);
      const event = apiEvent({
        method: route.method,
        resource: route.path,
        caller: ALICE,
        ...(route.path.includes('{id}') ? { id: 'req-0404' } : {}),
      });
      // Act
      const response = await handler(event);
      // Assess
      expect(bodyOf<{ error?: { message: string } }>(response).error?.message ?? '').not.toMatch(/^no route/);
    },
  );

  it('answers a route outside the contract with the no-route 404', async () => {
    // Prepare
    const handler = createApiHandler(fakeDeps().deps);
    // Act
    const response = await handler(apiEvent({ method: 'PUT', resource: '/requests', caller: ALICE }));
    // Assess
    expect(response.statusCode).toBe(404);
    expect(bodyOf(response)).toEqual({ error: { code: 'NotFound', message: 'no route PUT /requests' } });
  });
});

describe('matchPath', () => {
  it('matches a concrete path to its template with decoded parameters', () => {
    // Act
    const match = matchPath('POST', '/requests/req%2D7/approve');
    // Assess
    expect(match?.route.path).toBe('/requests/{id}/approve');
    expect(match?.params).toEqual({ id: 'req-7' });
  });

  it('matches a route without parameters with empty params', () => {
    // Act
    const match = matchPath('GET', '/requests');
    // Assess
    expect(match?.route).toMatchObject({ method: 'GET', path: '/requests', query: expect.anything() });
    expect(match?.params).toEqual({});
  });

  it('ignores empty segments', () => {
    // Act
    const match = matchPath('GET', '//requests/req-1/');
    // Assess
    expect(match?.route.path).toBe('/requests/{id}');
  });

  it('matches the Slack route', () => {
    // Act
    const match = matchPath('POST', '/slack/interactions');
    // Assess
    expect(match?.route).toBe(SLACK_ROUTE);
  });

  it.each([
    ['DELETE', '/requests/req-1'],
    ['GET', '/requests/req-1/approve'],
    ['POST', '/requests/req-1/approve/now'],
    ['GET', '/'],
  ])('finds no route for %s %s', (method, path) => {
    // Act
    const match = matchPath(method, path);
    // Assess
    expect(match).toBeUndefined();
  });
});
