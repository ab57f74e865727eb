/**
 * State transitions per lifecycle, counted two ways:
 * - statically: a small ASL walker follows the synthesized definition (`synthesizeWorkflow`) for each path,
 *   given what each Task answers (or which error it throws, and how often), evaluating the real Choice rules,
 *   Retry (per-retrier MaxAttempts) and Catch fields;
 * - from runs on the local runtime: the states each execution actually entered, from aws-local-stepfunctions'
 *   own execution event log (see state-trace.ts).
 * Convention (Step Functions Standard billing): every state entered counts one transition (Task, Choice,
 * Wait, Succeed, Fail), every Retry attempt counts one more; starting the execution is not counted.
 */
import { parsePolicyConfig } from '#core/policy/config.ts';
import type { AslDefinition, AslState } from '../local/engines/asl.ts';
import { synthesizeWorkflow } from '../local/engines/asl.ts';
import { throttled } from '../local/fakes/iam.ts';
import { startLocalBroker } from '../local/runtime.ts';
import { traceExecutions, traceOf, transitionsOf } from './state-trace.ts';

export const ACCOUNT = '111122223333';
export const REQUESTER = (n: string) => `arn:aws:sts::${ACCOUNT}:assumed-role/Bench/${n}`;
export const APPROVER = (n: string) => `arn:aws:sts::${ACCOUNT}:assumed-role/BenchApprover/${n}`;
export const ROLE = (n: string) => `arn:aws:iam::${ACCOUNT}:role/${n}`;

/** Happy paths must stay within this many transitions (DESIGN.md, "State machine"). */
export const HAPPY_PATH_LIMIT = 12;

/** The config both local parts run on: an auto-approved policy rule, an approval rule, a credentials rule. */
export function benchConfigInput(approvalWindowSeconds: number) {
  return {
    approvalWindowSeconds,
    defaultDurationSeconds: 2,
    minDurationSeconds: 1,
    rules: [
      {
        id: 'bench-auto',
        requesters: [REQUESTER('*')],
        targets: [ROLE('bench-*')],
        actions: ['s3:GetObject'],
        resources: ['arn:aws:s3:::bench/*'],
        maxDurationSeconds: 600,
        approval: 'auto' as const,
      },
      {
        id: 'bench-approval',
        requesters: [REQUESTER('*')],
        targets: [ROLE('approved-*')],
        actions: ['s3:GetObject'],
        resources: ['arn:aws:s3:::bench/*'],
        maxDurationSeconds: 600,
        approval: { approvers: [APPROVER('*')], minApprovals: 1 },
      },
      {
        id: 'bench-credentials',
        kind: 'credentials' as const,
        requesters: [REQUESTER('*')],
        targets: [ROLE('jit-release-*')],
        actions: ['s3:GetObject'],
        resources: ['arn:aws:s3:::bench/*'],
        maxDurationSeconds: 600,
        approval: 'auto' as const,
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------------------
// Static walk

/** What a Task answers: a payload, or an error `times` times in a row (default: every time) then `then`. */
type TaskOutcome = { readonly ok: unknown } | { readonly error: string; times?: number; then?: unknown };

interface Walk {
  readonly entered: string[];
  readonly retried: string[];
  readonly end: string;
}

type Data = Record<string, unknown>;

function getPath(data: unknown, path: string): { present: boolean; value?: unknown } {
  if (path === '$') return { present: true, value: data };
  if (!path.startsWith('$.')) throw new Error(`unsupported path ${path}`);
  let cur: unknown = data;
  for (const key of path.slice(2).split('.')) {
    if (!cur || typeof cur !== 'object' || !(key in (cur as Data))) return { present: false };
    cur = (cur as Data)[key];
  }
  return { present: true, value: cur };
}

function setPath(data: Data, path: string | null | undefined, value: unknown): unknown {
  if (path === null) return data;
  if (path === undefined || path === '$') return value;
  if (!path.startsWith('$.')) throw new Error(`unsupported ResultPath ${path}`);
  const out: Data = structuredClone(data);
  const keys = path.slice(2).split('.');
  let cur = out;
  for (const k of keys.slice(0, -1)) {
    cur[k] = typeof cur[k] === 'object' && cur[k] !== null ? cur[k] : {};
    cur = cur[k] as Data;
  }
  cur[keys.at(-1) as string] = value;
  return out;
}

function template(tpl: Data, input: unknown): Data {
  const out: Data = {};
  for (const [k, v] of Object.entries(tpl)) {
    if (k.endsWith('.$')) out[k.slice(0, -2)] = getPath(input, v as string).value;
    else out[k] = v && typeof v === 'object' ? template(v as Data, input) : v;
  }
  return out;
}

function choiceMatches(rule: Data, data: unknown): boolean {
  if (Array.isArray(rule.And)) return (rule.And as Data[]).every((r) => choiceMatches(r, data));
  if (Array.isArray(rule.Or)) return (rule.Or as Data[]).some((r) => choiceMatches(r, data));
  if (rule.Not) return !choiceMatches(rule.Not as Data, data);
  const v = getPath(data, rule.Variable as string);
  if ('StringEquals' in rule) return v.value === rule.StringEquals;
  if ('BooleanEquals' in rule) return v.value === rule.BooleanEquals;
  if ('IsString' in rule) return (typeof v.value === 'string') === rule.IsString;
  if ('IsPresent' in rule) return v.present === rule.IsPresent;
  if ('IsNull' in rule) return (v.value === null) === rule.IsNull;
  throw new Error(`the bench's ASL walker does not know the Choice rule ${JSON.stringify(rule)}`);
}

const errorMatches = (names: readonly string[], error: string) =>
  names.some(
    (n) => n === error || n === 'States.ALL' || (n === 'States.TaskFailed' && error !== 'States.Timeout'),
  );

/** Follows the definition from StartAt, with each Task answering as `tasks` says. */
export function walk(def: AslDefinition, tasks: Readonly<Record<string, TaskOutcome>>): Walk {
  const entered: string[] = [];
  const retried: string[] = [];
  let data: unknown = { requestId: 'bench' };
  let name = def.StartAt;
  for (let step = 0; step < 200; step++) {
    const s = def.States[name] as AslState & Data;
    if (!s) throw new Error(`no state ${name}`);
    entered.push(name);
    if (s.InputPath !== undefined || s.OutputPath !== undefined)
      throw new Error(`${name}: the walker does not model InputPath/OutputPath`);
    let next: string | undefined;
    switch (s.Type) {
      case 'Task': {
        const outcome = tasks[name];
        if (!outcome) throw new Error(`the path gives no outcome for Task ${name}`);
        const attempts: number[] = [];
        let failures = 0;
        for (;;) {
          if ('ok' in outcome || failures >= (outcome.times ?? Number.POSITIVE_INFINITY)) {
            const value = 'ok' in outcome ? outcome.ok : outcome.then;
            const raw = s.Resource?.endsWith('.waitForTaskToken')
              ? value
              : { StatusCode: 200, Payload: value };
            const selected = s.ResultSelector ? template(s.ResultSelector as Data, raw) : raw;
            data = setPath(data as Data, s.ResultPath as string | null | undefined, selected);
            next = s.Next as string | undefined;
            break;
          }
          const retry = ((s.Retry ?? []) as Data[]).findIndex((r) =>
            errorMatches(r.ErrorEquals as string[], outcome.error),
          );
          const max = Number((s.Retry as Data[] | undefined)?.[retry]?.MaxAttempts ?? 3);
          if (retry >= 0 && (attempts[retry] ?? 0) < max) {
            attempts[retry] = (attempts[retry] ?? 0) + 1;
            retried.push(name);
            failures++;
            continue;
          }
          const c = ((s.Catch ?? []) as Data[]).find((r) =>
            errorMatches(r.ErrorEquals as string[], outcome.error),
          );
          if (!c) return { entered, retried, end: `failed in ${name} (${outcome.error}, uncaught)` };
          data = setPath(data as Data, c.ResultPath as string | null | undefined, {
            Error: outcome.error,
            Cause: 'bench',
          });
          next = c.Next as string;
          break;
        }
        break;
      }
      case 'Choice':
        next =
          ((s.Choices as Data[]).find((r) => choiceMatches(r, data))?.Next as string | undefined) ??
          (s.Default as string | undefined);
        if (!next) return { entered, retried, end: `no Choice matched in ${name} (States.NoChoiceMatched)` };
        break;
      case 'Wait':
      case 'Pass':
        next = s.Next as string | undefined;
        break;
      case 'Succeed':
        return { entered, retried, end: 'Succeed' };
      case 'Fail':
        return { entered, retried, end: `Fail ${String(s.Error)}` };
      default:
        throw new Error(`the bench's ASL walker does not model ${s.Type} states (${name})`);
    }
    if (s.End === true) return { entered, retried, end: 'Succeed' };
    if (!next) throw new Error(`${name} has no Next`);
    name = next;
  }
  throw new Error('path did not end within 200 states');
}

const EXPIRES = '2030-01-01T00:00:00Z';
const V = {
  auto: { ok: { outcome: 'AUTO_APPROVED' } },
  approval: { ok: { outcome: 'APPROVAL_REQUIRED' } },
  rejected: { ok: { outcome: 'REJECTED' } },
  closed: { ok: { outcome: 'CLOSED' } },
};
const grantOk = { ok: { requestId: 'bench', expiresAt: EXPIRES } };
const revokePolicy = {
  ok: { requestId: 'bench', status: 'REVOKED', alreadyRevoked: false, kind: 'policy', cleanupAt: null },
};
const revokeCredentials = {
  ok: {
    requestId: 'bench',
    status: 'REVOKED',
    alreadyRevoked: false,
    kind: 'credentials',
    cleanupAt: EXPIRES,
  },
};
const decision = (d: string) => ({ ok: { decision: d } });

/** One lifecycle path: how each Task answers on it; `happy` paths are held to {@link HAPPY_PATH_LIMIT}. */
interface PathCase {
  readonly id: string;
  readonly label: string;
  readonly happy: boolean;
  readonly tasks: Record<string, TaskOutcome>;
}

const PATHS: readonly PathCase[] = [
  {
    id: 'auto-policy',
    label: 'auto-approved happy path (policy)',
    happy: true,
    tasks: { Validate: V.auto, Grant: grantOk, Revoke: revokePolicy },
  },
  {
    id: 'approval-policy',
    label: 'approval-required happy path (policy)',
    happy: true,
    tasks: {
      Validate: V.approval,
      AwaitApproval: decision('APPROVED'),
      Grant: grantOk,
      Revoke: revokePolicy,
    },
  },
  {
    id: 'auto-credentials',
    label: 'credentials happy path, auto-approved, with session cleanup',
    happy: true,
    tasks: { Validate: V.auto, Grant: grantOk, Revoke: revokeCredentials, RemoveSessionDeny: { ok: {} } },
  },
  {
    id: 'approval-credentials',
    label: 'credentials happy path, approval-required, with session cleanup',
    happy: true,
    tasks: {
      Validate: V.approval,
      AwaitApproval: decision('APPROVED'),
      Grant: grantOk,
      Revoke: revokeCredentials,
      RemoveSessionDeny: { ok: {} },
    },
  },
  { id: 'rejected', label: 'rejected at Validate', happy: false, tasks: { Validate: V.rejected } },
  {
    id: 'denied',
    label: 'denied by an approver',
    happy: false,
    tasks: { Validate: V.approval, AwaitApproval: decision('DENIED') },
  },
  {
    id: 'approval-expired',
    label: 'approval expired (States.Timeout caught)',
    happy: false,
    tasks: {
      Validate: V.approval,
      AwaitApproval: { error: 'States.Timeout' },
      ApprovalExpired: { ok: { status: 'APPROVAL_EXPIRED' } },
    },
  },
  {
    id: 'cancelled-pending',
    label: 'cancelled while pending approval',
    happy: false,
    tasks: { Validate: V.approval, AwaitApproval: decision('CANCELLED') },
  },
  {
    id: 'cancelled-before-await',
    label: 'cancelled after Validate, before AwaitApproval ran (ConflictError caught)',
    happy: false,
    tasks: { Validate: V.approval, AwaitApproval: { error: 'ConflictError' } },
  },
  {
    id: 'cancelled-before-validate',
    label: 'cancelled before Validate ran (outcome CLOSED)',
    happy: false,
    tasks: { Validate: V.closed },
  },
  {
    id: 'grant-failed',
    label: 'grant failed, non-retryable error, compensated (auto-approved)',
    happy: false,
    tasks: {
      Validate: V.auto,
      Grant: { error: 'LimitExceeded' },
      CompensateGrant: { ok: { status: 'GRANT_FAILED' } },
    },
  },
  {
    id: 'grant-failed-retried',
    label: 'grant failed after its retries (RetryableAwsError every attempt), compensated',
    happy: false,
    tasks: {
      Validate: V.auto,
      Grant: { error: 'RetryableAwsError' },
      CompensateGrant: { ok: { status: 'GRANT_FAILED' } },
    },
  },
  {
    id: 'revoke-failed',
    label: 'revoke failed (RetryableAwsError every attempt) → RecordRevokeFailed (auto-approved)',
    happy: false,
    tasks: {
      Validate: V.auto,
      Grant: grantOk,
      Revoke: { error: 'RetryableAwsError' },
      RecordRevokeFailed: { ok: { status: 'REVOKE_FAILED' } },
    },
  },
];

// ---------------------------------------------------------------------------------------------------------
// Runs on the local runtime

type Caller = (
  principal: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
) => Promise<{
  status: number;
  body: Record<string, unknown>;
}>;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Runs each reachable path once on a local broker and returns the states each execution entered. */
async function runPaths(ddbEndpoint: string) {
  const traces = traceExecutions();
  const approvalWindowSeconds = 4;
  const broker = await startLocalBroker({
    config: parsePolicyConfig(benchConfigInput(approvalWindowSeconds)),
    port: 0,
    ddbEndpoint,
    // Retry intervals only: the number of attempts (and so of transitions) is the definition's.
    retryIntervalMs: 20,
    sessionLifetimeScale: 4 / 900,
    sweepGraceSeconds: 0,
    log: () => {},
  });
  const call: Caller = async (principal, method, path, body) => {
    const res = await fetch(`${broker.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', 'x-jit-principal': principal },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const submit = async (who: string, body: Record<string, unknown>) => {
    const r = await call(REQUESTER(who), 'POST', '/requests', {
      permissions: [{ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::bench/x'] }],
      durationSeconds: 1,
      reason: 'bench: transitions',
      ...body,
    });
    if (r.status !== 202) throw new Error(`submit answered ${r.status}: ${JSON.stringify(r.body)}`);
    return String(r.body.requestId);
  };
  const status = async (id: string) => (await broker.deps.store.get(id))?.status;
  const pending = (id: string) =>
    until(`${id} PENDING_APPROVAL`, async () =>
      (await status(id)) === 'PENDING_APPROVAL' ? true : undefined,
    );
  const runs: Record<
    string,
    { transitions: number; entered: string[]; retried: number; statuses: string[] }
  > = {};
  const record = async (pathId: string, id: string) => {
    const t = await traceOf(id);
    runs[pathId] = {
      transitions: transitionsOf(t),
      entered: t.entered,
      retried: t.retried.length,
      statuses: (await broker.deps.store.events(id)).map((e) => e.to),
    };
  };
  try {
    await record('auto-policy', await submit('t-auto', { target: ROLE('bench-t-auto') }));

    let id = await submit('t-appr', { target: ROLE('approved-t') });
    await pending(id);
    await call(APPROVER('a'), 'POST', `/requests/${id}/approve`, {});
    await record('approval-policy', id);

    await record(
      'auto-credentials',
      await submit('t-cred', { kind: 'credentials', target: ROLE('jit-release-t') }),
    );

    id = await submit('t-deny', { target: ROLE('approved-t') });
    await pending(id);
    await call(APPROVER('a'), 'POST', `/requests/${id}/deny`, { reason: 'bench: deny path' });
    await record('denied', id);

    id = await submit('t-cancel', { target: ROLE('approved-t') });
    await pending(id);
    await call(REQUESTER('t-cancel'), 'POST', `/requests/${id}/cancel`, {});
    await record('cancelled-pending', id);

    await record('approval-expired', await submit('t-expire', { target: ROLE('approved-t') }));

    // A non-retryable IAM error on the next PutRolePolicy: the grant fails, compensation runs.
    broker.iam.inject({
      op: 'put',
      times: 1,
      error: () => Object.assign(new Error('Cannot exceed quota (simulated)'), { name: 'LimitExceeded' }),
    });
    await record('grant-failed', await submit('t-gfail', { target: ROLE('bench-t-gfail') }));

    id = await submit('t-rfail', { target: ROLE('bench-t-rfail') });
    const fault = {
      op: 'delete' as const,
      error: throttled,
      times: Number.POSITIVE_INFINITY,
      policyName: (n: string) => n === `jit-${id}`,
    };
    broker.iam.inject(fault);
    await record('revoke-failed', id);
    fault.times = 0;
    // The sweeper finishes the failed revoke (grace 0 here; it takes grants whose expiresAt, to the
    // second, is strictly before now, so it may need a second pass).
    await until(
      'the sweeper to revoke the failed revoke',
      async () => {
        await broker.sweep();
        return (await status(id)) === 'REVOKED' ? true : undefined;
      },
      10_000,
    );
    const leftovers = broker.iam.snapshot().flatMap((p) => Object.keys(p.inlinePolicies));
    return { runs, leftovers, tracedExecutions: traces.size };
  } finally {
    await broker.stop();
  }
}

/** Static counts for every path, run counts for the paths the local runtime can drive. */
export async function transitionFigures(ddbEndpoint: string) {
  const { definition } = synthesizeWorkflow(parsePolicyConfig(benchConfigInput(60)));
  const local = await runPaths(ddbEndpoint);
  const rows = PATHS.map((p) => {
    const w = walk(definition, p.tasks);
    const run = local.runs[p.id];
    return {
      id: p.id,
      label: p.label,
      happy: p.happy,
      static: { transitions: w.entered.length + w.retried.length, retries: w.retried.length, end: w.end },
      states: w.entered,
      ...(run
        ? {
            run: {
              transitions: run.transitions,
              retries: run.retried,
              statuses: run.statuses,
              sameStatesAsStatic: JSON.stringify(run.entered) === JSON.stringify(w.entered),
            },
          }
        : {}),
    };
  });
  const failures: string[] = [];
  for (const r of rows) {
    const counts = [r.static.transitions, ...(r.run ? [r.run.transitions] : [])];
    if (r.happy && Math.max(...counts) > HAPPY_PATH_LIMIT)
      failures.push(`${r.label}: ${Math.max(...counts)} transitions > ${HAPPY_PATH_LIMIT}`);
    if (r.run && !r.run.sameStatesAsStatic)
      failures.push(`${r.label}: the run entered other states than the static walk`);
  }
  if (local.leftovers.length) failures.push(`inline policies left after the path runs: ${local.leftovers}`);
  return {
    convention:
      'Step Functions Standard billing: one transition per state entered (Task, Choice, Wait, Succeed, Fail), one more per Retry attempt; the execution start is not counted. Run counts = StateEntered + StateRetried events of the aws-local-stepfunctions execution event log (all state types, not only Tasks).',
    happyPathLimit: HAPPY_PATH_LIMIT,
    paths: rows,
    failures,
  };
}
