import type { ChainCheck } from '#core/audit/chain.ts';
import type { AuditEvent, PublicRequest } from '#core/model.ts';
import type { BreakGlassReviewResult } from '#core/requests/break-glass.ts';
import type { EligibleRule } from '#core/requests/rules.ts';

/** `GET /requests/{id}`: the request, its events and whether their hash chain holds. */
export type RequestDocument = PublicRequest & {
  readonly events?: readonly AuditEvent[];
  readonly integrity?: ChainCheck;
};

/** `POST /requests`. */
export interface Submitted {
  readonly requestId: string;
  readonly status: string;
}

/** `GET /requests` (one page) and `GET /pending`. */
export interface RequestPage {
  readonly requests: readonly PublicRequest[];
  readonly next?: string;
}

/**
 * `GET /pending`: the requests awaiting the caller's approval and the break-glass grants awaiting the
 * caller's review, oldest first.
 */
export interface PendingAnswer {
  readonly requests: readonly PublicRequest[];
  /** Absent from a broker that predates break-glass. */
  readonly reviews?: readonly PublicRequest[];
}

/** `GET /rules`. */
export interface RulesAnswer {
  readonly rules: readonly EligibleRule[];
}

export type { BreakGlassReviewResult, EligibleRule, PublicRequest };
