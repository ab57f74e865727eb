import { randomUUID } from 'node:crypto';
import type { PolicyConfig } from '#core/policy/config.ts';
import type {
  Activity,
  Alerts,
  Approvals,
  AuditStore,
  Clock,
  CredentialVault,
  Deps,
  EvidenceArchive,
  IamGrants,
  Revocations,
  Sts,
  Workflow,
} from '#core/ports.ts';

/**
 * The one composition root: every Lambda entry (through `lambdaDeps`) and the local runtime build their
 * `deps` here, so the defaults cannot drift between what Lambda runs and what runs on this machine. It
 * imports no SDK client: the caller hands in the port implementations it was built with.
 */

/** What one function (or the local runtime) brings to {@link composeDeps}. */
export interface DepsParts {
  /** The validated policy config. */
  readonly config: PolicyConfig;
  /** The audit store, undecorated. */
  readonly store: AuditStore;
  /** @default unwired: a call is a wiring bug */
  readonly iam?: IamGrants;
  /** @default unwired */
  readonly sts?: Sts;
  /** @default unwired */
  readonly vault?: CredentialVault;
  /** @default unwired */
  readonly workflow?: Workflow;
  /** @default unwired */
  readonly revocations?: Revocations;
  /** Who hears of a request waiting for approval. @default nobody (approvers use the API) */
  readonly approvals?: Approvals;
  /** The write-once evidence archive (the API verifies against it). @default none */
  readonly evidence?: EvidenceArchive;
  /** CloudTrail reads for the audit review. @default none (reviews say no source was read) */
  readonly activity?: Activity;
  /** Break-glass alerts. @default none */
  readonly alerts?: Alerts;
  /** Decorates the store, e.g. to refresh Slack cards after each status change (see `wireSlack`). */
  readonly wrapStore?: (store: AuditStore) => AuditStore;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => new Date() };

/** A port this function is not wired (nor permitted) to use: calling it is a wiring bug. */
function unwired<T extends object>(port: string): T {
  return new Proxy({} as T, {
    get: (_t, prop) => () =>
      Promise.reject(new Error(`port ${port}.${String(prop)} is not wired in this Lambda`)),
  });
}

/** Approvals when Slack is off for this function: nobody is notified (approvers use the API). */
const noApprovals: Approvals = { requestPending: async () => {} };

/** Builds the core's `deps` from the parts a function has: real clock and ids, unwired ports elsewhere. */
export function composeDeps(parts: DepsParts): Deps {
  return {
    config: parts.config,
    store: parts.wrapStore ? parts.wrapStore(parts.store) : parts.store,
    iam: parts.iam ?? unwired<IamGrants>('iam'),
    sts: parts.sts ?? unwired<Sts>('sts'),
    vault: parts.vault ?? unwired<CredentialVault>('vault'),
    workflow: parts.workflow ?? unwired<Workflow>('workflow'),
    revocations: parts.revocations ?? unwired<Revocations>('revocations'),
    approvals: parts.approvals ?? noApprovals,
    clock: systemClock,
    ids: { requestId: () => randomUUID() },
    ...(parts.evidence ? { evidence: parts.evidence } : {}),
    ...(parts.activity ? { activity: parts.activity } : {}),
    ...(parts.alerts ? { alerts: parts.alerts } : {}),
  };
}
