import type { GrantKind } from '../model.ts';
import type { Approval, PolicyConfig, Rule } from '../policy/config.ts';
import { arnMatches } from '../principals.ts';

/**
 * A rule as its requesters see it (`GET /rules`): what they may ask for and who decides. Who else may
 * request (`requesters`) is left out, as is everything else of the config.
 */
export interface EligibleRule {
  readonly id: string;
  readonly description?: string;
  readonly kind: GrantKind;
  readonly targets: readonly string[];
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  readonly maxDurationSeconds: number;
  /** `"auto"`, or the approver ARN patterns and how many distinct people must approve. */
  readonly approval: Approval;
}

/** True when the caller matches one of the rule's requester patterns (the test `validateRequest` uses). */
export function isRequester(rule: Rule, caller: string): boolean {
  return rule.requesters.some((p) => arnMatches(p, caller));
}

/**
 * `GET /rules`: the rules the caller may request under, in config order, each copied field by field so
 * nothing but the public fields can leave (a field added to the rule schema stays private until added here).
 */
export function eligibleRules(config: Pick<PolicyConfig, 'rules'>, caller: string): EligibleRule[] {
  return config.rules
    .filter((rule) => isRequester(rule, caller))
    .map((rule) => ({
      id: rule.id,
      ...(rule.description === undefined ? {} : { description: rule.description }),
      kind: rule.kind,
      targets: [...rule.targets],
      actions: [...rule.actions],
      resources: [...rule.resources],
      maxDurationSeconds: rule.maxDurationSeconds,
      approval:
        rule.approval === 'auto'
          ? 'auto'
          : { minApprovals: rule.approval.minApprovals, approvers: [...rule.approval.approvers] },
    }));
}
