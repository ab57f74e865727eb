/**
 * Who may do what to a stored request: the rule it was validated under, its approvers, the auditors and
 * the break-glass reviewers. The one place the read rights are decided.
 */
import type { AccessRequest } from '../model.ts';
import type { PolicyConfig, Rule } from '../policy/config.ts';
import { arnMatches } from '../principals.ts';

/** The rule a stored request was validated under (undefined if the config no longer has it). */
export function ruleOf(config: PolicyConfig, request: Pick<AccessRequest, 'ruleId'>): Rule | undefined {
  return config.rules.find((r) => r.id === request.ruleId);
}

/** True when `caller` is an approver of the rule. Auto-approved rules have no human approvers. */
export function isApprover(rule: Rule | undefined, caller: string): boolean {
  if (!rule || rule.approval === 'auto') return false;
  return rule.approval.approvers.some((p) => arnMatches(p, caller));
}

/** Approvals a rule needs before access is granted (0 for auto-approval). */
export function requiredApprovals(rule: Rule | undefined): number {
  if (!rule) return Number.POSITIVE_INFINITY;
  return rule.approval === 'auto' ? 0 : rule.approval.minApprovals;
}

/** True when `caller` is one of the config's auditors. */
export function isAuditor(config: Pick<PolicyConfig, 'audit'>, caller: string): boolean {
  return config.audit.auditors.some((p) => arnMatches(p, caller));
}

/** True when `caller` is a break-glass reviewer (they read the break-glass requests they review). */
export function isBreakGlassReviewer(config: Pick<PolicyConfig, 'breakGlass'>, caller: string): boolean {
  return (config.breakGlass?.reviewers ?? []).some((p) => arnMatches(p, caller));
}

/**
 * Who may read a request, its events and its review: its requester, the approvers of its rule, the
 * auditors, and for a break-glass request its reviewers. Nobody else.
 */
export function mayRead(config: PolicyConfig, request: AccessRequest, caller: string): boolean {
  return (
    request.requester === caller ||
    isApprover(ruleOf(config, request), caller) ||
    isAuditor(config, caller) ||
    (request.breakGlass !== undefined && isBreakGlassReviewer(config, caller))
  );
}
