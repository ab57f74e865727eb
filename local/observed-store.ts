import type { ActivityReview } from '#core/audit/review-report.ts';
import type { AccessRequest, AuditEvent } from '#core/model.ts';
import type { AuditStore, RequestFilter, RequestPage, TransitionWrite } from '#core/ports.ts';

/**
 * An AuditStore that reports every event it has durably written (after the store accepted it), so the
 * local runtime can print one line per transition as it happens.
 */
export class ObservedAuditStore implements AuditStore {
  readonly #inner: AuditStore;
  readonly #onEvent: (event: AuditEvent) => void;

  constructor(inner: AuditStore, onEvent: (event: AuditEvent) => void) {
    this.#inner = inner;
    this.#onEvent = onEvent;
  }

  async create(request: AccessRequest, event: AuditEvent): Promise<void> {
    await this.#inner.create(request, event);
    this.#onEvent(event);
  }

  get(id: string): Promise<AccessRequest | undefined> {
    return this.#inner.get(id);
  }

  events(id: string): Promise<AuditEvent[]> {
    return this.#inner.events(id);
  }

  async transition(id: string, write: TransitionWrite): Promise<void> {
    await this.#inner.transition(id, write);
    this.#onEvent(write.event);
  }

  findExpiredGrants(before: string, limit: number): Promise<AccessRequest[]> {
    return this.#inner.findExpiredGrants(before, limit);
  }

  findInFlight(updatedBefore: string, limit: number): Promise<AccessRequest[]> {
    return this.#inner.findInFlight(updatedBefore, limit);
  }

  findPendingApproval(limit: number): Promise<AccessRequest[]> {
    return this.#inner.findPendingApproval(limit);
  }

  listByRequester(requester: string, limit: number, after?: string): Promise<RequestPage> {
    return this.#inner.listByRequester(requester, limit, after);
  }

  listAll(filter: RequestFilter, limit: number, after?: string): Promise<RequestPage> {
    return this.#inner.listAll(filter, limit, after);
  }

  findFollowUps(dueBy: string, limit: number): Promise<AccessRequest[]> {
    return this.#inner.findFollowUps(dueBy, limit);
  }

  putReview(id: string, review: ActivityReview): Promise<void> {
    return this.#inner.putReview(id, review);
  }

  getReview(id: string): Promise<ActivityReview | undefined> {
    return this.#inner.getReview(id);
  }
}
