import type { ChainCheck } from '#core/audit/chain.ts';
import type { AuditEvent, PublicRequest } from '#core/model.ts';
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

/** `GET /rules`. */
export interface RulesAnswer {
  readonly rules: readonly EligibleRule[];
}

export type { EligibleRule, PublicRequest };
