import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { AccountIamGrants, type GrantorCacheStats } from '#adapters/account-iam-grants.ts';
import { activityEventOfRecord, CloudTrailActivity } from '#adapters/cloudtrail-activity.ts';
import { DynamoAuditStore } from '#adapters/dynamo-audit-store.ts';
import { realSleep } from '#adapters/pacer.ts';
import type { ActivityQuery } from '#core/audit/activity.ts';
import { recordFirstUse } from '#core/audit/first-use.ts';
import type { AuditEvent, RevokeResult } from '#core/model.ts';
import { grantorRoleArn, listedAccounts } from '#core/policy/accounts.ts';
import type { PolicyConfig } from '#core/policy/config.ts';
import type { Activity, Deps } from '#core/ports.ts';
import { accountOf } from '#core/principals.ts';
import { type FollowUpRun, runFollowUps } from '#core/requests/review.ts';
import { runSweep } from '#core/workflow/sweeper.ts';
import { createApiHandler } from '#lambdas/api/handler.ts';
import { archiveStreamBatch } from '#lambdas/evidence/handler.ts';
import { composeDeps } from '#lambdas/runtime/compose.ts';
import type { AlarmingOutcome } from '#lambdas/runtime/logger.ts';
import { createStepHandlers } from '#lambdas/workflow-steps/handlers.ts';
import type { HandlerName } from '../lib/broker-function.ts';
import { synthesizeWorkflow } from './engines/asl.ts';
import { createAuditTable } from './engines/create-table.ts';
import { type DynamoDbLocal, LOCAL_AWS, startDynamoDbLocal } from './engines/dynamodb-local.ts';
import { type ExecutionRecord, type LocalHandler, LocalWorkflow } from './engines/state-machine.ts';
import { LocalEvidence } from './evidence.ts';
import { LocalAlerts } from './fakes/alerts.ts';
import { LocalCloudTrail } from './fakes/cloudtrail.ts';
import { SimulatedIamAccount } from './fakes/iam.ts';
import { LocalVault } from './fakes/kms-vault.ts';
import { SimulatedSts } from './fakes/sts.ts';
import { createLocalServer } from './http-server.ts';
import { cloudTrailInjectRoute, cloudTrailListing } from './local-cloudtrail.ts';
import {
  type LocalSlack,
  type LocalSlackOptions,
  localSlackInfo,
  slackNotConfigured,
  startLocalSlack,
} from './local-slack.ts';
import { ObservedAuditStore } from './observed-store.ts';

/** Options of {@link startLocalBroker}. */
export interface LocalBrokerOptions {
  /** The validated policy config (the same one `cdk synth` would take). */
  readonly config: PolicyConfig;
  /** TCP port on 127.0.0.1; 0 picks a free one. @default 8787 */
  readonly port?: number;
  /** Use this DynamoDB Local instead of starting one (tests share one per run). */
  readonly ddbEndpoint?: string;
  /** Where a DynamoDB Local started here keeps its data. @default in memory */
  readonly dataDir?: string;
  /** @default 'jit-audit' (a fresh random name when `ddbEndpoint` is shared) */
  readonly tableName?: string;
  /** Overrides every Retry interval of the ASL (ms) without changing the definition. */
  readonly retryIntervalMs?: number;
  /**
   * Local time control for credentials grants: simulated STS credentials live DurationSeconds × this
   * (STS never issues less than 900 s). @default 1
   */
  readonly sessionLifetimeScale?: number;
  /** Run the sweeper this often (ms); 0 = never (call `sweep()` by hand). @default 0 */
  readonly sweepIntervalMs?: number;
  /** How long after expiresAt the sweeper takes over. @default 10 (900 in AWS) */
  readonly sweepGraceSeconds?: number;
  /**
   * How long an in-flight request must sit unchanged before the reconciler asks whether its execution is
   * over (e.g. after a restart on a `--data-dir`: the local engine's executions are gone). @default 10 (300 in AWS)
   */
  readonly reconcileAfterSeconds?: number;
  /** Where the one-line-per-transition log goes. @default console.log */
  readonly log?: (line: string) => void;
  /** The fake Slack starts when the config has a `slack` section; these tune it. */
  readonly slack?: LocalSlackOptions;
}

/** A running local broker. */
export interface LocalBroker {
  readonly url: string;
  readonly port: number;
  readonly tableName: string;
  /** Every simulated account's IAM (principals by full ARN), as IAM holds it: not through a grantor. */
  readonly iam: SimulatedIamAccount;
  readonly sts: SimulatedSts;
  /** Every simulated account's CloudTrail event history (`POST /_local/cloudtrail` injects into it). */
  readonly cloudtrail: LocalCloudTrail;
  /** The SNS alert topic: what it would have carried (`GET /_local/alerts`). */
  readonly alerts: LocalAlerts;
  /** One run of the review function's schedule (audit review passes, overdue break-glass reviews). */
  followUps(): Promise<FollowUpRun>;
  /** How the grant function's grantor assumptions were served (zeros without `accounts`: none made). */
  readonly grantorCache: GrantorCacheStats;
  readonly workflow: LocalWorkflow;
  readonly deps: Deps;
  /** The fake Slack and the Slack wiring, when the config has a `slack` section. */
  readonly slack?: LocalSlack;
  readonly ddbPid: number | undefined;
  /** Runs the sweeper once now. */
  sweep(): ReturnType<typeof runSweep>;
  /** Every event in the order the store accepted it. */
  readonly events: readonly AuditEvent[];
  /** The write-once evidence archive the events are copied to (the stream + evidence function in AWS). */
  readonly evidence: LocalEvidence;
  /** What the failure alarm would count in AWS: compensated grants and exhausted revokes. */
  readonly outcomes: Readonly<Record<AlarmingOutcome, number>>;
  stop(): Promise<void>;
}

/**
 * The account-routing IAM port on the simulated STS: the same adapter as in Lambda, whose "AssumeRole" is
 * the simulated STS's, so a wrong ExternalId or an undeployed grantor fails as it would in AWS.
 */
function grantorIam(config: PolicyConfig, sts: SimulatedSts, sessionName: string): AccountIamGrants {
  const listed = listedAccounts(config);
  for (const account of listed) sts.trustGrantor(grantorRoleArn(config, account.id), config.externalId ?? '');
  return new AccountIamGrants({
    grantorRoleArn: (account) =>
      listed.some((a) => a.id === account) ? grantorRoleArn(config, account) : undefined,
    externalId: config.externalId ?? '',
    sessionName,
    assume: (target) => sts.assumeGrantor(target),
  });
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      if (address && typeof address === 'object') resolve(address.port);
      else reject(new Error('server has no address'));
    });
  });
}

/**
 * Starts the broker on this machine with no AWS account: the exact synthesized ASL on
 * aws-local-stepfunctions, the real handlers in-process, DynamoDB Local as the store, a simulated IAM
 * account for the config's targets, and the HTTP API on 127.0.0.1.
 */
export async function startLocalBroker(opts: LocalBrokerOptions): Promise<LocalBroker> {
  const log = opts.log ?? ((line: string) => console.log(line));
  // DynamoDB Local boots (JVM) while the app synthesizes: the two are the bulk of the start-up time.
  const ddbStarting = opts.ddbEndpoint
    ? undefined
    : startDynamoDbLocal(opts.dataDir ? { dataDir: opts.dataDir } : {});
  let synthesized: ReturnType<typeof synthesizeWorkflow>;
  try {
    synthesized = synthesizeWorkflow(opts.config);
  } catch (error) {
    await (await ddbStarting?.catch(() => undefined))?.stop();
    throw error;
  }
  const ddb: DynamoDbLocal | undefined = await ddbStarting;
  const endpoint = opts.ddbEndpoint ?? (ddb as DynamoDbLocal).endpoint;
  const tableName = opts.tableName ?? (opts.ddbEndpoint ? `jit-${randomUUID()}` : 'jit-audit');
  const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint });
  let server: Server | undefined;
  let slack: LocalSlack | undefined;
  try {
    await createAuditTable(client, tableName);
    const events: AuditEvent[] = [];
    const evidence = await LocalEvidence.open(opts.dataDir, log);
    const store = new ObservedAuditStore(
      new DynamoAuditStore(
        DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
        tableName,
      ),
      (event) => {
        events.push(event);
        evidence.record(event);
        log(`${event.requestId}  ${event.from ?? '∅'} → ${event.to}  by ${event.actor}`);
      },
    );
    slack = opts.config.slack
      ? await startLocalSlack({
          ...opts.slack,
          config: opts.config,
          db: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
          tableName,
          log,
        })
      : undefined;
    const iam = new SimulatedIamAccount(opts.config.rules.flatMap((r) => r.targets));
    const sts = new SimulatedSts(iam, () => new Date(), opts.sessionLifetimeScale ?? 1);
    // With `accounts`, each listed account's grantor is "deployed" (its trust: exact role ARN, ExternalId)
    // and the broker reaches every account through it, as in AWS; without, the one account directly.
    // One port per function, as in Lambda: each names itself in the grantor's RoleSessionName.
    const grantors = opts.config.accounts ? grantorIam(opts.config, sts, 'jit-grant') : undefined;
    const revokeGrantors = opts.config.accounts ? grantorIam(opts.config, sts, 'jit-revoke') : undefined;
    const sweeperGrantors = opts.config.accounts ? grantorIam(opts.config, sts, 'jit-sweeper') : undefined;
    let handlers = {} as Record<HandlerName, LocalHandler>;
    const outcomes: Record<AlarmingOutcome, number> = { GrantFailed: 0, RevokeFailed: 0 };
    const workflow = new LocalWorkflow({
      workflow: synthesized,
      // Handlers need deps and deps need the workflow: resolve them lazily.
      handlers: new Proxy({} as Record<HandlerName, LocalHandler>, {
        get: (_t, name: string) => handlers[name as HandlerName],
      }),
      ...(opts.retryIntervalMs === undefined ? {} : { retryIntervalMs: opts.retryIntervalMs }),
      onExecutionEnd: (r: ExecutionRecord) => {
        if (r.status === 'FAILED') log(`${r.name}  workflow ended ${r.error?.error}: ${r.error?.cause}`);
      },
    });
    const cloudtrail = new LocalCloudTrail();
    const alerts = new LocalAlerts();
    // The same composition root as every Lambda entry, with local engines and fakes in place of SDK clients.
    const composed = composeDeps({
      config: opts.config,
      store,
      ...(slack ? { wrapStore: slack.wrapStore } : {}),
      iam: grantors ?? iam,
      sts,
      vault: opts.dataDir ? LocalVault.inDataDir(opts.dataDir) : new LocalVault(),
      evidence: evidence.archive,
      workflow,
      // Early revokes go through the revoke handler, as the API function invokes the revoke function.
      revocations: {
        revoke: async (requestId, actor, reason) =>
          (await handlers.revoke({ requestId, action: 'early', actor, reason } as never)) as RevokeResult,
      },
      approvals: {
        requestPending: async (request) => {
          log(`${request.id}  waiting for approval: POST /requests/${request.id}/approve`);
          await slack?.approvals.requestPending(request);
        },
        announce: async (request) => {
          log(`${request.id}  BREAK-GLASS granted to ${request.requester} until ${request.expiresAt}`);
          await slack?.approvals.announce?.(request);
        },
      },
      alerts,
    });
    // The review reads the fake event history through the same LookupEvents adapter as in AWS (pacing,
    // throttling retries, paging), on real timers.
    const deps: Deps = {
      ...composed,
      activity: new CloudTrailActivity({
        lookup: cloudtrail.lookup,
        regions: opts.config.audit.regions ?? [...new Set(['us-east-1', LOCAL_AWS.region])],
        sleep: realSleep,
      }),
    };
    const count = (outcome: AlarmingOutcome) => {
      outcomes[outcome] += 1;
    };
    const steps = createStepHandlers(deps, count);
    const revokeSteps = revokeGrantors ? createStepHandlers({ ...deps, iam: revokeGrantors }, count) : steps;
    const slackHandler = slack?.handler(deps, store);
    const api = createApiHandler(deps);
    // The review function's schedule runs on the sweeper's timer here (see below).
    const followUps = async () => {
      const run = await runFollowUps(deps);
      for (const o of run.outcomes) {
        if (o.reviewed)
          log(`${o.requestId}  audit review pass ${o.reviewed} stored${o.incomplete ? ' (incomplete)' : ''}`);
        if (o.newlyOverdue) log(`${o.requestId}  break-glass review OVERDUE: requester suspended`);
        if (o.error) log(`${o.requestId}  review failed: ${o.error}`);
      }
      return run;
    };
    const sweep = () =>
      runSweep(sweeperGrantors ? { ...deps, iam: sweeperGrantors } : deps, {
        graceSeconds: opts.sweepGraceSeconds ?? 10,
        reconcileAfterSeconds: opts.reconcileAfterSeconds ?? 10,
      });
    handlers = {
      validate: steps.validate,
      'await-approval': steps.awaitApproval,
      grant: steps.grant,
      revoke: revokeSteps.revoke,
      api,
      slack: slackHandler ?? slackNotConfigured,
      // The sweeper runs on its own timer here (see below), not from the state machine.
      sweeper: sweep,
      evidence: (event: unknown) => archiveStreamBatch(evidence.archive, event as DynamoDBStreamEvent),
      // The daily digest also runs from the sweeper's timer (see below).
      digest: () => evidence.digest(),
      review: (event: unknown) => {
        const e = event as { action?: string; query?: ActivityQuery };
        return e?.action === 'find' && e.query ? (deps.activity as Activity).find(e.query) : followUps();
      },
      'first-use': async (event: unknown) => {
        const record = activityEventOfRecord((event as { detail?: unknown })?.detail);
        return { outcome: record ? await recordFirstUse(deps, record) : 'ignored' };
      },
    } as Record<HandlerName, LocalHandler>;
    server = createLocalServer(
      api,
      {
        // `outcomes`: what the failure alarm would count in AWS (GrantFailed, RevokeFailed).
        '/_local/health': () => ({ ok: true, table: tableName, outcomes }),
        // `?account=<id>`: that account's principals and the sessions of its roles only.
        '/_local/iam': (query) => {
          const account = query.get('account') ?? undefined;
          const sessions = sts.live();
          return {
            principals: iam.snapshot(account),
            sessions: account ? sessions.filter((x) => accountOf(x.roleArn) === account) : sessions,
          };
        },
        '/_local/slack': () => localSlackInfo(slack),
        // `?account=<id>`: that account's records only.
        '/_local/cloudtrail': cloudTrailListing(cloudtrail),
        // What the SNS alert topic would have carried (break-glass grants, overdue reviews).
        '/_local/alerts': () => ({ alerts: alerts.published }),
      },
      slackHandler,
      // The records CloudTrail would have logged; the broker's session records also go to first use, as
      // the EventBridge forwarder sends them in AWS.
      { '/_local/cloudtrail': cloudTrailInjectRoute(cloudtrail, deps, log) },
    );
    const port = await listen(server, opts.port ?? 8787);
    const running = server;
    const sweeper = opts.sweepIntervalMs
      ? setInterval(() => {
          sweep().then(
            (r) => {
              for (const f of r.failed) log(`${f.requestId}  sweeper could not revoke: ${f.error}`);
              for (const c of r.reconciled)
                log(`${c.requestId}  reconciled: execution ${c.execution}, ${c.from} → ${c.to}`);
              for (const s of r.strays)
                log(`sweeper: ${s.policyName} on ${s.principal} ${s.action} (${s.reason})`);
              for (const a of r.accountsFailed)
                log(`sweeper could not sweep account ${a.account}: ${a.error}`);
            },
            (error: unknown) => log(`sweeper failed: ${(error as Error).message}`),
          );
          evidence.digest().then(
            (outcomes) => {
              for (const o of outcomes) {
                if (o.outcome === 'written')
                  log(`evidence: digest of ${o.day} written (${o.requests} requests)`);
                else if (!o.agrees) log(`evidence: digest of ${o.day} differs from the heads archived now`);
              }
            },
            (error: unknown) => log(`digest failed: ${(error as Error).message}`),
          );
          followUps().catch((error: unknown) => log(`review failed: ${(error as Error).message}`));
        }, opts.sweepIntervalMs)
      : undefined;
    return {
      url: `http://127.0.0.1:${port}`,
      port,
      tableName,
      iam,
      sts,
      cloudtrail,
      alerts,
      workflow,
      deps,
      followUps,
      grantorCache: grantors?.stats ?? { hits: 0, misses: 0 },
      ...(slack ? { slack } : {}),
      ddbPid: ddb?.pid,
      events,
      evidence,
      outcomes,
      sweep,
      async stop() {
        if (sweeper) clearInterval(sweeper);
        await new Promise<void>((resolve) => running.close(() => resolve()));
        running.closeAllConnections();
        client.destroy();
        await evidence.settled();
        await slack?.stop();
        await ddb?.stop();
      },
    };
  } catch (error) {
    server?.close();
    client.destroy();
    await slack?.stop();
    await ddb?.stop();
    throw error;
  }
}
