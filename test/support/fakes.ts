import type { ActivityReview } from '#core/audit/review-report.ts';
import { applyPatch } from '#core/audit/transition.ts';
import { TransitionRefusedError } from '#core/errors.ts';
import { HOLDS_GRANT, IN_FLIGHT, isLegalTransition } from '#core/lifecycle.ts';
import type { AccessRequest, AuditEvent } from '#core/model.ts';
import { type PolicyConfig, type PolicyConfigInput, parsePolicyConfig } from '#core/policy/config.ts';
import type {
  AuditStore,
  Deps,
  ExecutionStatus,
  RequestFilter,
  RequestPage,
  TransitionWrite,
  Workflow,
} from '#core/ports.ts';
import { decide, submitRequest } from '#core/requests/requests.ts';
import { awaitApprovalStep, grantStep, revokeGrant, validateStep } from '#core/workflow/steps.ts';
import { SimulatedIamAccount } from '../../local/fakes/iam.ts';
import { LocalVault } from '../../local/fakes/kms-vault.ts';
import { SimulatedSts } from '../../local/fakes/sts.ts';

export const ACCOUNT = '111122223333';
export const arn = {
  role: (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`,
  user: (name: string) => `arn:aws:iam::${ACCOUNT}:user/${name}`,
  assumed: (role: string, session: string) => `arn:aws:sts::${ACCOUNT}:assumed-role/${role}/${session}`,
};

export const ALICE = arn.assumed('Developer', 'alice');
export const BOB = arn.assumed('Approver', 'bob');
export const CAROL = arn.assumed('Approver', 'carol');
export const MALLORY = arn.assumed('Outsider', 'mallory');

/** A config with one approval rule (quorum configurable), one auto rule and one user-target rule. */
export function testConfigInput(
  overrides: Partial<PolicyConfigInput> = {},
  minApprovals = 1,
): PolicyConfigInput {
  return {
    approvalWindowSeconds: 3600,
    minDurationSeconds: 60,
    rules: [
      {
        id: 'app-read',
        requesters: [arn.assumed('Developer', '*')],
        targets: [arn.role('app-*')],
        actions: ['s3:GetObject', 's3:ListBucket', 'dynamodb:Get*'],
        resources: [
          'arn:aws:s3:::app-data',
          'arn:aws:s3:::app-data/*',
          `arn:aws:dynamodb:*:${ACCOUNT}:table/app-*`,
        ],
        maxDurationSeconds: 3600,
        approval: { approvers: [arn.assumed('Approver', '*')], minApprovals },
      },
      {
        id: 'logs-auto',
        requesters: [arn.assumed('Developer', '*')],
        targets: [arn.role('ops-*')],
        actions: ['logs:GetLogEvents', 'logs:FilterLogEvents'],
        resources: [`arn:aws:logs:*:${ACCOUNT}:log-group:*`],
        maxDurationSeconds: 1800,
        approval: 'auto',
      },
      {
        id: 'user-read',
        requesters: [arn.assumed('Developer', '*')],
        targets: [arn.user('svc-*')],
        actions: ['s3:GetObject'],
        resources: ['arn:aws:s3:::*'],
        maxDurationSeconds: 3600,
        approval: { approvers: [arn.assumed('Approver', '*')] },
      },
    ],
    protectedPrincipals: [arn.role('app-broker-*')],
    ...overrides,
  };
}

export function testConfig(overrides: Partial<PolicyConfigInput> = {}, minApprovals = 1): PolicyConfig {
  return parsePolicyConfig(testConfigInput(overrides, minApprovals));
}

/** An in-memory AuditStore with the same refusal rules as the DynamoDB one. */
export class MemoryAuditStore implements AuditStore {
  readonly requests = new Map<string, AccessRequest>();
  readonly eventLog = new Map<string, AuditEvent[]>();

  async create(request: AccessRequest, event: AuditEvent): Promise<void> {
    if (this.requests.has(request.id)) throw new TransitionRefusedError('exists');
    this.requests.set(request.id, structuredClone(request));
    this.eventLog.set(request.id, [structuredClone(event)]);
  }

  async get(id: string): Promise<AccessRequest | undefined> {
    const r = this.requests.get(id);
    return r ? structuredClone(r) : undefined;
  }

  async events(id: string): Promise<AuditEvent[]> {
    return structuredClone(this.eventLog.get(id) ?? []);
  }

  async transition(id: string, w: TransitionWrite): Promise<void> {
    const current = this.requests.get(id);
    if (!isLegalTransition(w.from, w.to)) throw new TransitionRefusedError(`illegal ${w.from} → ${w.to}`);
    if (!current || current.status !== w.from || current.version !== w.expectVersion) {
      throw new TransitionRefusedError('condition failed');
    }
    const events = this.eventLog.get(id) ?? [];
    if (events.some((e) => e.seq === w.event.seq)) throw new TransitionRefusedError('event exists');
    this.requests.set(id, {
      ...applyPatch(current, w.patch ? structuredClone(w.patch) : undefined),
      status: w.to,
      version: w.event.seq,
      lastHash: w.event.hash,
      updatedAt: w.at,
    });
    events.push(structuredClone(w.event));
    this.eventLog.set(id, events);
  }

  async findExpiredGrants(before: string, limit: number): Promise<AccessRequest[]> {
    return [...this.requests.values()]
      .filter((r) => HOLDS_GRANT.includes(r.status) && r.expiresAt !== undefined && r.expiresAt < before)
      .sort((a, b) => (a.expiresAt ?? '').localeCompare(b.expiresAt ?? ''))
      .slice(0, limit)
      .map((r) => structuredClone(r));
  }

  async findInFlight(updatedBefore: string, limit: number): Promise<AccessRequest[]> {
    return [...this.requests.values()]
      .filter((r) => IN_FLIGHT.includes(r.status) && r.updatedAt < updatedBefore)
      .sort((a, b) => a.updatedAt.localeCompare(b.updatedAt))
      .slice(0, limit)
      .map((r) => structuredClone(r));
  }

  async findPendingApproval(limit: number): Promise<AccessRequest[]> {
    return [...this.requests.values()]
      .filter((r) => r.status === 'PENDING_APPROVAL')
      .sort((a, b) => a.updatedAt.localeCompare(b.updatedAt))
      .slice(0, limit)
      .map((r) => structuredClone(r));
  }

  readonly reviews = new Map<string, ActivityReview>();

  async listAll(filter: RequestFilter, limit: number, after?: string): Promise<RequestPage> {
    const all = [...this.requests.values()]
      .filter(
        (r) =>
          r.createdAt >= filter.since &&
          (!filter.status || r.status === filter.status) &&
          (!filter.ruleId || r.ruleId === filter.ruleId),
      )
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
    const start = after === undefined ? 0 : all.findIndex((r) => r.id === after) + 1;
    const items = all.slice(start, start + limit).map((r) => structuredClone(r));
    const last = items.at(-1);
    return start + limit < all.length && last ? { items, next: last.id } : { items };
  }

  async findFollowUps(dueBy: string, limit: number): Promise<AccessRequest[]> {
    return [...this.requests.values()]
      .filter((r) => r.followUpAt !== undefined && r.followUpAt <= dueBy)
      .slice(0, limit)
      .map((r) => structuredClone(r));
  }

  async putReview(id: string, review: ActivityReview): Promise<void> {
    this.reviews.set(id, structuredClone(review));
  }

  async getReview(id: string): Promise<ActivityReview | undefined> {
    const r = this.reviews.get(id);
    return r ? structuredClone(r) : undefined;
  }

  async listByRequester(requester: string, limit: number, after?: string): Promise<RequestPage> {
    const mine = [...this.requests.values()]
      .filter((r) => r.requester === requester)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
    const start = after === undefined ? 0 : mine.findIndex((r) => r.id === after) + 1;
    const items = mine.slice(start, start + limit).map((r) => structuredClone(r));
    const last = items.at(-1);
    return start + limit < mine.length && last ? { items, next: last.id } : { items };
  }
}

/** Records starts and callbacks; `statuses` sets what `status()` answers (default RUNNING once started). */
export class RecordingWorkflow implements Workflow {
  readonly started: string[] = [];
  readonly callbacks: { token: string; output: Record<string, unknown> }[] = [];
  readonly statuses = new Map<string, ExecutionStatus>();
  async start(requestId: string): Promise<void> {
    this.started.push(requestId);
  }
  async status(requestId: string): Promise<ExecutionStatus> {
    return this.statuses.get(requestId) ?? (this.started.includes(requestId) ? 'RUNNING' : 'NOT_FOUND');
  }
  async sendSuccess(taskToken: string, output: Record<string, unknown>): Promise<void> {
    this.callbacks.push({ token: taskToken, output });
  }
}

/** A clock tests move by hand. */
export class ManualClock {
  #now: number;
  constructor(start = Date.parse('2026-11-22T10:00:00Z')) {
    this.#now = start;
  }
  now(): Date {
    return new Date(this.#now);
  }
  advance(seconds: number): void {
    this.#now += seconds * 1000;
  }
}

/** Fake deps around the in-memory store, the simulated IAM account and a recording workflow. */
export function fakeDeps(config: PolicyConfig = testConfig()) {
  const store = new MemoryAuditStore();
  const iam = new SimulatedIamAccount(config.rules.flatMap((r) => r.targets));
  const workflow = new RecordingWorkflow();
  const clock = new ManualClock();
  const sts = new SimulatedSts(iam, () => clock.now());
  const vault = new LocalVault();
  let n = 0;
  const pending: AccessRequest[] = [];
  const deps: Deps = {
    config,
    store,
    iam,
    sts,
    vault,
    workflow,
    // The revoke function's work, in process (the API hands early revokes to it).
    revocations: { revoke: (id, actor, reason) => revokeGrant(deps, id, actor, reason) },
    approvals: { requestPending: async (r) => void pending.push(r) },
    clock,
    ids: { requestId: () => `req-${String(++n).padStart(4, '0')}` },
  };
  return { deps, store, iam, sts, vault, workflow, clock, pending };
}

/** A valid body for the `app-read` rule. */
export function validBody(overrides: Record<string, unknown> = {}) {
  return {
    kind: 'policy',
    target: arn.role('app-reader'),
    permissions: [{ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::app-data/reports/*'] }],
    durationSeconds: 900,
    reason: 'investigate INC-42 report export',
    ticket: 'INC-42',
    ...overrides,
  };
}

/** The workflow's view after Validate and AwaitApproval: a request waiting for votes, with its token. */
export async function pendingRequest(
  deps: Deps,
  options: { caller?: string; body?: Record<string, unknown>; token?: string } = {},
): Promise<string> {
  const { requestId } = await submitRequest(deps, options.caller ?? ALICE, options.body ?? validBody());
  const { outcome } = await validateStep(deps, requestId);
  if (outcome !== 'APPROVAL_REQUIRED') throw new Error(`expected APPROVAL_REQUIRED, got ${outcome}`);
  await awaitApprovalStep(deps, requestId, options.token ?? `token-${requestId}`);
  return requestId;
}

/** A request approved by BOB (single-approver rule), not yet granted. */
export async function approvedRequest(deps: Deps, body?: Record<string, unknown>): Promise<string> {
  const id = await pendingRequest(deps, body ? { body } : {});
  await decide(deps, BOB, id, 'approve');
  return id;
}

/** A request whose policy is attached to the target. */
export async function grantedRequest(deps: Deps, body?: Record<string, unknown>): Promise<string> {
  const id = await approvedRequest(deps, body);
  await grantStep(deps, id);
  return id;
}

/** A credentials rule (STS sessions on `jit-release-*` roles, auto-approved) for credentials tests. */
export const CREDENTIALS_RULE = {
  id: 'release',
  kind: 'credentials' as const,
  requesters: [arn.assumed('Developer', '*')],
  targets: [arn.role('jit-release-*')],
  actions: ['s3:PutObject', 's3:GetObject'],
  resources: ['arn:aws:s3:::release/*'],
  maxDurationSeconds: 3600,
  approval: 'auto' as const,
};

/** The test config plus {@link CREDENTIALS_RULE}. */
export function credentialsConfig(): PolicyConfig {
  return testConfig({ rules: [...testConfigInput().rules, CREDENTIALS_RULE] });
}
