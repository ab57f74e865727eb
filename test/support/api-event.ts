import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';

/** What a test says about one API call; everything else gets API Gateway's usual shape. */
export interface ApiCall {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** The resource template, e.g. `/requests/{id}/approve`. */
  readonly resource: string;
  readonly id?: string;
  /** An object is sent as JSON; a string is sent as is. */
  readonly body?: unknown;
  /** The SigV4-authenticated caller; `null` for a request without an IAM identity. */
  readonly caller: string | null;
  readonly headers?: Record<string, string>;
  readonly query?: Record<string, string>;
  readonly base64?: boolean;
}

/** Builds an `APIGatewayProxyEvent` as a REST API with AWS_IAM auth hands it to the Lambda. */
export function apiEvent(call: ApiCall): APIGatewayProxyEvent {
  const path = call.id === undefined ? call.resource : call.resource.replace('{id}', call.id);
  let body: string | null = null;
  if (call.body !== undefined) body = typeof call.body === 'string' ? call.body : JSON.stringify(call.body);
  if (body !== null && call.base64) body = Buffer.from(body, 'utf8').toString('base64');
  return {
    resource: call.resource,
    path,
    httpMethod: call.method,
    headers: { 'content-type': 'application/json', ...call.headers },
    multiValueHeaders: {},
    queryStringParameters: call.query ?? null,
    multiValueQueryStringParameters: null,
    pathParameters: call.id === undefined ? null : { id: call.id },
    stageVariables: null,
    body,
    isBase64Encoded: call.base64 ?? false,
    requestContext: {
      accountId: '111122223333',
      apiId: 'abc123',
      authorizer: {},
      protocol: 'HTTP/1.1',
      httpMethod: call.method,
      path: `/prod${path}`,
      stage: 'prod',
      requestId: 'apigw-request-id',
      requestTimeEpoch: Date.parse('2026-11-22T10:00:00Z'),
      resourceId: 'res123',
      resourcePath: call.resource,
      identity: {
        accessKey: call.caller ? 'ASIAEXAMPLE' : null,
        accountId: call.caller ? '111122223333' : null,
        apiKey: null,
        apiKeyId: null,
        caller: call.caller ? 'AROAEXAMPLE:session' : null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: '203.0.113.10',
        user: call.caller ? 'AROAEXAMPLE:session' : null,
        userAgent: 'vitest',
        userArn: call.caller,
      },
    },
  };
}

/** The parsed JSON body of a response. */
export function bodyOf<T = Record<string, unknown>>(response: APIGatewayProxyResult): T {
  return JSON.parse(response.body) as T;
}
