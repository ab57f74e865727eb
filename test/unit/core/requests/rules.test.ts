import { describe, expect, it } from 'vitest';
import { eligibleRules } from '#core/requests/rules.ts';
import { ALICE, arn, BOB, MALLORY, testConfig, testConfigInput } from '../../../support/fakes.ts';

/** The test config plus a rule only operators may request under, with a description, Slack and people. */
function config() {
  return testConfig({
    rules: [
      ...testConfigInput().rules,
      {
        id: 'ops-break-glass',
        description: 'operators only',
        requesters: [arn.assumed('Operator', '*')],
        targets: [arn.role('ops-admin')],
        actions: ['ec2:RebootInstances'],
        resources: ['*'],
        maxDurationSeconds: 900,
        approval: { approvers: [arn.assumed('SecurityLead', '*')], minApprovals: 2 },
      },
    ],
    slack: { defaultChannel: 'C0APPROVALS', users: { U0BOB: { approver: BOB } } },
    people: { 'bob-the-person': [BOB] },
  });
}

describe('eligibleRules', () => {
  it('shows an outsider no rule', () => {
    // Act
    const rules = eligibleRules(config(), MALLORY);
    // Assess
    expect(rules).toEqual([]);
  });

  it('shows a developer exactly the rules that list them, in config order', () => {
    // Act
    const rules = eligibleRules(config(), ALICE);
    // Assess
    expect(rules.map((r) => r.id)).toEqual(['app-read', 'logs-auto', 'user-read']);
  });

  it('shows an operator only the rule that lists operators, with its description and quorum', () => {
    // Act
    const rules = eligibleRules(config(), arn.assumed('Operator', 'olga'));
    // Assess
    expect(rules).toEqual([
      {
        id: 'ops-break-glass',
        description: 'operators only',
        kind: 'policy',
        targets: [arn.role('ops-admin')],
        actions: ['ec2:RebootInstances'],
        resources: ['*'],
        maxDurationSeconds: 900,
        approval: { minApprovals: 2, approvers: [arn.assumed('SecurityLead', '*')] },
      },
    ]);
  });

  it('shows each rule with its public fields only and nothing else of the config', () => {
    // Act
    const rules = eligibleRules(config(), ALICE);
    // Assess
    const text = JSON.stringify(rules);
    for (const rule of rules) {
      expect(Object.keys(rule).sort()).toEqual(
        ['actions', 'approval', 'id', 'kind', 'maxDurationSeconds', 'resources', 'targets'].sort(),
      );
    }
    expect(rules.find((r) => r.id === 'logs-auto')?.approval).toBe('auto');
    expect(text).not.toContain('requesters');
    expect(text).not.toContain(arn.assumed('Developer', '*'));
    expect(text).not.toContain('ops-break-glass');
    expect(text).not.toContain(arn.role('app-broker-*'));
    expect(text).not.toContain('C0APPROVALS');
    expect(text).not.toContain('U0BOB');
    expect(text).not.toContain('bob-the-person');
  });
});
