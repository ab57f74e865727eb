/**
 * What every grant kind does, behind one interface: kind-specific limits, and the IAM/STS work of grant,
 * revoke, compensation and cleanup. A kind never records a transition: it returns what to record (event
 * details and the patch of the request item), and the workflow steps write it, one event per move.
 */
import type { FieldIssue } from '../errors.ts';
import type { AccessRequest, Permission, RequestPatch } from '../model.ts';
import type { Deps } from '../ports.ts';

/** The ports a kind may use: IAM, STS, the credentials vault and the clock. */
export type GrantPorts = Pick<Deps, 'iam' | 'sts' | 'vault' | 'clock'>;

/** What a kind's work leaves to record: the event's details and the fields of the request it changes. */
export interface Recorded {
  readonly details: Record<string, unknown>;
  readonly patch?: RequestPatch;
}

/** A grant in place, until `expiresAt` (ISO 8601 to the second). */
export interface Granted extends Recorded {
  readonly expiresAt: string;
}

/** The failure that sent a grant to compensation, as the workflow hands it over (no stack trace). */
export interface GrantFailure {
  readonly error: string;
  readonly cause: string;
}

/** The part of a config rule a kind checks (structural: the kind modules never import the policy module). */
export interface KindRule {
  readonly targets: readonly string[];
  readonly maxDurationSeconds: number;
}

/** The part of a request a kind's limits apply to, once the rule and the duration are known. */
export interface KindLimits {
  readonly targetType: 'role' | 'user';
  readonly durationSeconds: number;
  readonly permissions: readonly Permission[];
}

/** One grant kind. */
export interface GrantKindModule {
  /** Problems of a config rule of this kind, with fields relative to the rule (`targets[0]`). */
  ruleIssues(rule: KindRule): FieldIssue[];
  /** Problems with the target type alone (checked before eligibility: no rule of this kind could help). */
  targetIssues(targetType: 'role' | 'user'): FieldIssue[];
  /** Problems with the duration and the size of what would be written. */
  limitIssues(request: KindLimits): FieldIssue[];
  /** Puts the grant in place and proves it (read-back). */
  grant(ports: GrantPorts, request: AccessRequest): Promise<Granted>;
  /** Ends the grant now and proves it. Idempotent: what is already gone counts as removed. */
  revoke(ports: GrantPorts, request: AccessRequest): Promise<Recorded>;
  /** Removes whatever a failed grant may have left; nothing granted survives it. */
  compensate(ports: GrantPorts, request: AccessRequest, failure: GrantFailure): Promise<Recorded>;
  /** When the cleanup after revoke may run (the workflow waits for it); null when there is none to do. */
  cleanupAt(request: AccessRequest): string | null;
  /** The cleanup after revoke (e.g. a session deny that can go once the credentials expired). */
  cleanup(ports: GrantPorts, request: AccessRequest): Promise<Recorded & { readonly removed: boolean }>;
  /**
   * True when a live grant of this kind holds an Allow `jit-<id>` policy on its target: the sweeper
   * removes an Allow of any other kind's request as stray.
   */
  readonly attachesAllow: boolean;
}
