import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES, type RouteAuth, routeKey } from '#lambdas/api/contract.ts';
import { API_ROUTE_KEYS } from '#lambdas/api/handler.ts';
import { buildBrokerApp } from '../../lib/app.ts';
import { BOB, testConfig } from '../support/fakes.ts';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is untyped.
type Json = any;

const SYNTH_TIMEOUT = 180_000;
/** With Slack, so the template has every route of the contract. */
const slackPolicy = testConfig({
  slack: { defaultChannel: 'C0APPROVALS', users: { U0BOB: { approver: BOB } } },
});

/** A method of the synthesized API: its route key, authorization type and the handler it integrates. */
interface ApiMethod {
  readonly key: string;
  readonly authorization: string;
  /** JIT_HANDLER of the function behind the method. */
  readonly handler: string | undefined;
}

/** The API's methods, with resource paths rebuilt from the `AWS::ApiGateway::Resource` parent chain. */
function apiMethods(template: Template): ApiMethod[] {
  const resources = template.findResources('AWS::ApiGateway::Resource');
  const pathOf = (ref: Json): string => {
    if (ref?.['Fn::GetAtt']?.[1] === 'RootResourceId') return '';
    const resource = resources[ref?.Ref];
    if (!resource) throw new Error(`unknown API resource ${JSON.stringify(ref)}`);
    return `${pathOf(resource.Properties.ParentId)}/${resource.Properties.PathPart}`;
  };
  const functions = template.findResources('AWS::Lambda::Function');
  const handlerOf = (uri: Json): string | undefined => {
    const fnId = JSON.stringify(uri).match(/"Fn::GetAtt":\["([^"]+)","Arn"\]/)?.[1];
    return fnId ? functions[fnId]?.Properties.Environment?.Variables?.JIT_HANDLER : undefined;
  };
  return Object.values<Json>(template.findResources('AWS::ApiGateway::Method'))
    .filter((m) => m.Properties.HttpMethod !== 'OPTIONS')
    .map((m) => ({
      key: routeKey(m.Properties.HttpMethod, pathOf(m.Properties.ResourceId) || '/'),
      authorization: m.Properties.AuthorizationType,
      handler: handlerOf(m.Properties.Integration?.Uri),
    }));
}

const AUTHORIZATION: Record<RouteAuth, { authorization: string; handler: string }> = {
  iam: { authorization: 'AWS_IAM', handler: 'api' },
  'slack-signature': { authorization: 'NONE', handler: 'slack' },
};

describe('HTTP contract against the synthesized API', () => {
  let outdir: string;
  let methods: ApiMethod[];

  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), 'jit-contract-'));
    // A light synth: no bundling (the functions' code is not under test) and no cdk-nag.
    const built = buildBrokerApp({
      policy: slackPolicy,
      nag: false,
      appProps: { outdir, context: { 'aws:cdk:bundling-stacks': [] } },
    });
    methods = apiMethods(Template.fromStack(built.broker));
  }, SYNTH_TIMEOUT);

  afterAll(() => {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  });

  it('builds one method per contract route and no other', () => {
    // Act
    const keys = methods.map((m) => m.key).sort();
    // Assess
    expect(keys).toEqual(ROUTES.map((r) => routeKey(r.method, r.path)).sort());
  });

  it("gives every route the authorization and function of its contract's auth", () => {
    // Prepare
    const expected = ROUTES.map((r) => ({ key: routeKey(r.method, r.path), ...AUTHORIZATION[r.auth] }));
    // Act
    const actual = methods.map((m) => ({ key: m.key, authorization: m.authorization, handler: m.handler }));
    // Assess
    expect(actual).toEqual(expect.arrayContaining(expected));
    expect(actual).toHaveLength(expected.length);
  });

  it('routes to the API function exactly the routes its handler answers', () => {
    // Act
    const apiKeys = methods.filter((m) => m.handler === 'api').map((m) => m.key);
    // Assess
    expect(apiKeys.sort()).toEqual([...API_ROUTE_KEYS].sort());
  });
});
