/**
 * Slack callback figures: the bundle of the Slack function (esbuild with the options the CDK uses) and its
 * cold acknowledgement time. Each cold run is a fresh Node process that imports the bundle and handles one
 * signed click: signature check, Secrets Manager read, DynamoDB Local reads and the conditional decision
 * write, SendTaskSuccess, and the card update on a fake Slack, until the handler returns its 200.
 * `benchSlack()` is called from bench/run.ts; `npx tsx bench/slack.ts` prints the figures alone.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { build } from 'esbuild';
import { DynamoAuditStore } from '#adapters/dynamo-audit-store.ts';
import { DynamoSlackCards } from '#adapters/dynamo-slack-cards.ts';
import { SlackWebApi } from '#adapters/slack-web-api.ts';
import { parsePolicyConfig } from '#core/policy/config.ts';
import type { Deps } from '#core/ports.ts';
import { submitRequest } from '#core/requests/requests.ts';
import { SlackApprovals } from '#core/slack/approvals.ts';
import { awaitApprovalStep, validateStep } from '#core/workflow/steps.ts';
import { ENV, POLICY_FILE_NAME } from '#lambdas/runtime/config.ts';
import { UNREACHED_CREDENTIAL_PROVIDERS } from '../lib/broker-function.ts';
import { createAuditTable } from '../local/engines/create-table.ts';
import { LOCAL_AWS, startDynamoDbLocal } from '../local/engines/dynamodb-local.ts';
import { LOCAL_SLACK_BOT_TOKEN, startFakeSlack } from '../local/fakes/slack.ts';
import { clickBody, signedHeaders } from '../local/slack-click.ts';
import { median } from './stats.ts';

const ROOT = resolve(import.meta.dirname, '..');
const ENTRY = join(ROOT, 'lambdas', 'slack', 'index.ts');
const SIGNING_SECRET = 'bench-signing-secret';
const SIGNING_ARN = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:bench/slack/signing-secret-AbCdEf';
const TOKEN_ARN = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:bench/slack/bot-token-AbCdEf';
/** SDK clients the Slack function must not carry (it never calls IAM, STS or KMS). */
const FORBIDDEN = [
  '@aws-sdk/client-iam',
  '@aws-sdk/client-sts',
  '@aws-sdk/client-kms',
  '@aws-sdk/client-lambda',
];

const APPROVER = 'arn:aws:sts::111122223333:assumed-role/Approver/bench';
const POLICY = parsePolicyConfig({
  approvalWindowSeconds: 3600,
  rules: [
    {
      id: 'bench',
      requesters: ['arn:aws:sts::111122223333:assumed-role/Bench/*'],
      targets: ['arn:aws:iam::111122223333:role/bench-*'],
      actions: ['s3:GetObject'],
      resources: ['arn:aws:s3:::bench/*'],
      maxDurationSeconds: 3600,
      approval: { approvers: [APPROVER], minApprovals: 1 },
    },
  ],
  slack: { defaultChannel: 'C0BENCH', users: { U0BENCH: { approver: APPROVER } } },
});

const round = (n: number) => Math.round(n * 10) / 10;

/** Bundles the Slack entry exactly as lib/broker-function.ts has NodejsFunction do it. */
async function bundle(outdir: string) {
  const outfile = join(outdir, 'index.mjs');
  const result = await build({
    entryPoints: [ENTRY],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    sourcemap: true,
    mainFields: ['module', 'main'],
    external: [...UNREACHED_CREDENTIAL_PROVIDERS],
    banner: { js: "import{createRequire}from'module';const require=createRequire(import.meta.url);" },
    metafile: true,
    logLevel: 'silent',
  });
  writeFileSync(join(outdir, POLICY_FILE_NAME), JSON.stringify(POLICY));
  const packages = new Map<string, number>();
  for (const [path, input] of Object.entries(
    result.metafile.outputs[outfile.slice(ROOT.length + 1)]?.inputs ?? {},
  )) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
    const name = match?.[1] ?? '(broker code)';
    packages.set(name, (packages.get(name) ?? 0) + input.bytesInOutput);
  }
  const code = readFileSync(outfile);
  return {
    file: outfile,
    codeBytes: code.length,
    gzipBytes: gzipSync(code).length,
    sourceMapBytes: statSync(`${outfile}.map`).size,
    largestInputs: [...packages.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([name, bytes]) => ({ name, bytes })),
    forbiddenClients: FORBIDDEN.filter((p) => packages.has(p)),
  };
}

/** Step Functions and Secrets Manager stand-ins (AWS JSON protocol), counting SendTaskSuccess calls. */
async function startAwsStub(): Promise<{ url: string; taskSuccesses: string[]; server: Server }> {
  const taskSuccesses: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, string>;
      let out: unknown = {};
      if (target.endsWith('.SendTaskSuccess')) taskSuccesses.push(body.taskToken ?? '');
      else if (target.endsWith('.GetSecretValue')) {
        const value = body.SecretId === SIGNING_ARN ? SIGNING_SECRET : LOCAL_SLACK_BOT_TOKEN;
        out = { ARN: body.SecretId, Name: 'bench', SecretString: value, VersionId: 'v1' };
      } else {
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
        return res.end(JSON.stringify({ __type: 'UnknownOperationException' }));
      }
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(out));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('stub has no address');
  return { url: `http://127.0.0.1:${address.port}`, taskSuccesses, server };
}

/** The child: timestamps relative to process start (performance.timeOrigin), one JSON line out. */
const CHILD = `
const booted = performance.now();
const { handler } = await import(process.argv[2]);
const imported = performance.now();
const events = JSON.parse(process.argv[3]);
const invokes = [];
let status;
for (const event of events) {
  const t = performance.now();
  const res = await handler(event, {});
  invokes.push(performance.now() - t);
  status ??= res.statusCode;
  if (res.statusCode !== 200) status = res.statusCode;
}
console.log(JSON.stringify({ bootMs: booted, importMs: imported - booted, invokes, ackMs: imported + invokes[0] - 0, status }));
process.exit(0);
`;

interface ChildResult {
  bootMs: number;
  importMs: number;
  invokes: number[];
  ackMs: number;
  status: number;
}

function runChild(script: string, bundleFile: string, events: unknown[], env: NodeJS.ProcessEnv) {
  return new Promise<ChildResult & { wallMs: number }>((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [script, pathToFileURL(bundleFile).href, JSON.stringify(events)], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    child.on('exit', (code) => {
      const line = out
        .trim()
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('{"bootMs"'));
      if (code !== 0 || !line) return reject(new Error(`cold run failed (${code}): ${err || out}`));
      resolvePromise({ ...(JSON.parse(line) as ChildResult), wallMs: performance.now() - started });
    });
  });
}

/** A signed click event as API Gateway hands it to the function (base64 body, as REST APIs may). */
function clickEvent(requestId: string) {
  const body = clickBody({ requestId, slackUserId: 'U0BENCH', action: 'approve' });
  return {
    resource: '/slack/interactions',
    path: '/slack/interactions',
    httpMethod: 'POST',
    headers: signedHeaders(SIGNING_SECRET, body, Math.floor(Date.now() / 1000)),
    multiValueHeaders: {},
    body: Buffer.from(body).toString('base64'),
    isBase64Encoded: true,
    requestContext: { identity: {} },
  };
}

/**
 * Bundle size and cold-ack time of the Slack function. `coldRuns` fresh processes each handle one click
 * on its own pending request (the first invocation is the cold ack); a second click in the same process
 * gives the warm figure.
 */
export async function benchSlack(
  opts: { coldRuns?: number; ddbEndpoint?: string } = {},
): Promise<Record<string, unknown>> {
  const runs = opts.coldRuns ?? 7;
  const work = join(import.meta.dirname, 'results', 'tmp', `slack-${randomUUID()}`);
  mkdirSync(work, { recursive: true });
  const ddb = opts.ddbEndpoint ? undefined : await startDynamoDbLocal();
  const endpoint = opts.ddbEndpoint ?? (ddb?.endpoint as string);
  const fake = await startFakeSlack();
  const aws = await startAwsStub();
  const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint });
  try {
    const bundled = await bundle(work);
    const table = `jit-bench-slack-${randomUUID()}`;
    await createAuditTable(client, table);
    const db = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    const store = new DynamoAuditStore(db, table);
    const clock = { now: () => new Date() };
    let n = 0;
    // Only what submit/validate/await-approval touch; the other ports are never called here.
    const deps = {
      config: POLICY,
      store,
      clock,
      ids: { requestId: () => `bench-${++n}-${randomUUID().slice(0, 8)}` },
      workflow: { start: async () => {}, sendSuccess: async () => {} },
      approvals: new SlackApprovals({
        config: POLICY,
        clock,
        api: new SlackWebApi({ token: async () => LOCAL_SLACK_BOT_TOKEN, baseUrl: fake.apiUrl }),
        cards: new DynamoSlackCards(db, table),
        onError: (message, error) => {
          throw new Error(`${message}: ${(error as Error).message}`);
        },
      }),
    } as unknown as Deps;
    const pendingRequest = async () => {
      const { requestId } = await submitRequest(deps, 'arn:aws:sts::111122223333:assumed-role/Bench/dev', {
        kind: 'policy',
        target: 'arn:aws:iam::111122223333:role/bench-reader',
        permissions: [{ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::bench/report.csv'] }],
        durationSeconds: 900,
        reason: 'bench: cold Slack click',
      });
      await validateStep(deps, requestId);
      await awaitApprovalStep(deps, requestId, `bench-token-${requestId}`);
      return requestId;
    };

    const script = join(work, 'cold.mjs');
    writeFileSync(script, CHILD);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ENDPOINT_URL_DYNAMODB: endpoint,
      AWS_ENDPOINT_URL_SFN: aws.url,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.url,
      NODE_OPTIONS: '--enable-source-maps',
      [ENV.tableName]: table,
      [ENV.stateMachineArn]: 'arn:aws:states:us-east-1:111122223333:stateMachine:bench',
      [ENV.slackSigningSecretArn]: SIGNING_ARN,
      [ENV.slackBotTokenArn]: TOKEN_ARN,
      [ENV.slackApiUrl]: fake.apiUrl,
    };
    const samples: (ChildResult & { wallMs: number })[] = [];
    for (let i = 0; i < runs; i++) {
      const cold = await pendingRequest();
      const warm = await pendingRequest();
      const result = await runChild(script, bundled.file, [clickEvent(cold), clickEvent(warm)], env);
      const [coldItem, warmItem] = await Promise.all([store.get(cold), store.get(warm)]);
      if (result.status !== 200 || coldItem?.status !== 'APPROVED' || warmItem?.status !== 'APPROVED') {
        throw new Error(`cold run ${i} did not approve: HTTP ${result.status}, ${coldItem?.status}`);
      }
      samples.push(result);
    }
    const updates = fake.calls.filter((c) => c.method === 'chat.update' && c.ok).length;
    return {
      bundle: {
        entry: 'lambdas/slack/index.ts',
        esbuild: 'ESM, minify, target node24, platform node, sourcemap (as lib/broker-function.ts)',
        codeBytes: bundled.codeBytes,
        gzipBytes: bundled.gzipBytes,
        sourceMapBytes: bundled.sourceMapBytes,
        largestInputs: bundled.largestInputs,
        forbiddenClients: bundled.forbiddenClients,
      },
      coldAck: {
        what: 'fresh node process: import bundle + verify signature + Secrets Manager read + DynamoDB Local reads and conditional write + SendTaskSuccess + chat.update, to the 200',
        node: process.version,
        runs,
        medianMs: round(median(samples.map((s) => s.ackMs))),
        minMs: round(Math.min(...samples.map((s) => s.ackMs))),
        maxMs: round(Math.max(...samples.map((s) => s.ackMs))),
        medianBreakdownMs: {
          nodeBoot: round(median(samples.map((s) => s.bootMs))),
          importBundle: round(median(samples.map((s) => s.importMs))),
          firstInvoke: round(median(samples.map((s) => s.invokes[0] ?? 0))),
        },
        warmInvokeMedianMs: round(median(samples.map((s) => s.invokes[1] ?? 0))),
        processWallMedianMs: round(median(samples.map((s) => s.wallMs))),
        samplesMs: samples.map((s) => round(s.ackMs)),
      },
      verified: {
        approvedRequests: runs * 2,
        sendTaskSuccessCalls: aws.taskSuccesses.length,
        cardUpdates: updates,
      },
    };
  } finally {
    client.destroy();
    aws.server.close();
    await fake.stop();
    await ddb?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  benchSlack().then(
    (figures) => console.log(JSON.stringify(figures, null, 2)),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
