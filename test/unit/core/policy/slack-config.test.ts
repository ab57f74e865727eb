import { describe, expect, it } from 'vitest';
import type { ConfigError } from '#core/errors.ts';
import { parsePolicyConfig } from '#core/policy/config.ts';
import {
  approvalWindowEndsAt,
  channelFor,
  isSlackRequester,
  slackIdentity,
  slackUserOf,
} from '#core/policy/slack-config.ts';
import { ALICE, arn, BOB, testConfig, testConfigInput } from '../../../support/fakes.ts';

const ALICE_APPROVER = arn.assumed('Approver', 'alice');

function issuesOf(input: unknown): string[] {
  try {
    parsePolicyConfig(input);
    return [];
  } catch (error) {
    return ((error as ConfigError).details ?? []).map((i) => `${i.field}: ${i.message}`);
  }
}

describe('policy config: slack section', () => {
  it('keeps a config without a slack section valid (Slack off)', () => {
    // Act
    const config = parsePolicyConfig(testConfigInput());
    // Assess
    expect(config.slack).toBeUndefined();
  });

  it('applies defaults to a minimal slack section', () => {
    // Act
    const config = testConfig({ slack: { defaultChannel: 'C0APPROVALS' } });
    // Assess
    expect(config.slack).toEqual({ defaultChannel: 'C0APPROVALS', channels: {}, users: {} });
  });

  it('refuses a channel for a rule the config does not have', () => {
    // Act
    const issues = issuesOf(testConfigInput({ slack: { channels: { 'no-such-rule': 'C0X' } } }));
    // Assess
    expect(issues).toEqual(['slack.channels.no-such-rule: names no rule of this config']);
  });

  it('refuses a channel name instead of a channel id, and a malformed Slack user id', () => {
    // Act
    const issues = issuesOf(
      testConfigInput({ slack: { defaultChannel: '#approvals', users: { bob: { approver: BOB } } } }),
    );
    // Assess
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^slack\.defaultChannel: /),
        expect.stringMatching(/^slack\.users/),
      ]),
    );
  });

  it('refuses an approver mapping with a wildcard: one Slack user is one identity', () => {
    // Act
    const issues = issuesOf(
      testConfigInput({ slack: { users: { U0BOB: { approver: arn.assumed('Approver', '*') } } } }),
    );
    // Assess
    expect(issues).toEqual([
      'slack.users.U0BOB.approver: must be one IAM/STS principal ARN without wildcards',
    ]);
  });

  it('refuses approvers that are not principal ARN patterns (slack:<id>, a bare *), so one person has one identity', () => {
    // Prepare
    const input = testConfigInput({ slack: { users: { U0BOB: { approver: BOB } } } });
    const rule = input.rules[0];
    if (!rule || rule.approval === 'auto') throw new Error('test config changed');
    rule.approval.approvers = [...rule.approval.approvers, 'slack:U0BOB', '*'];
    // Act
    const issues = issuesOf(input);
    // Assess
    const message =
      'must be an IAM user/role or STS assumed-role ARN pattern (Slack users approve as the principal mapped in slack.users.<id>.approver)';
    expect(issues).toEqual([
      `rules[0].approval.approvers[1]: ${message}`,
      `rules[0].approval.approvers[2]: ${message}`,
    ]);
  });

  it('refuses unknown fields in the slack section', () => {
    // Act
    const issues = issuesOf(testConfigInput({ slack: { channel: 'C0X' } as never }));
    // Assess
    expect(issues).toEqual(['slack.channel: is not a known field']);
  });
});

describe('slack identity helpers', () => {
  const slack = testConfig({
    slack: {
      defaultChannel: 'C0DEFAULT',
      channels: { 'user-read': 'C0USERS' },
      users: { U0BOB: { approver: BOB }, U0ALICE: { requester: [ALICE], approver: ALICE_APPROVER } },
    },
  }).slack;

  it('picks the rule’s own channel, else the default', () => {
    // Act / Assess
    expect(channelFor(slack, 'user-read')).toBe('C0USERS');
    expect(channelFor(slack, 'app-read')).toBe('C0DEFAULT');
    expect(channelFor(undefined, 'app-read')).toBeUndefined();
  });

  it('maps a Slack user to their approver principal, or to slack:<id> when unmapped', () => {
    // Act / Assess
    expect(slackIdentity(slack, 'U0BOB')).toBe(BOB);
    expect(slackIdentity(slack, 'U0NOBODY')).toBe('slack:U0NOBODY');
  });

  it('recognizes the requester by their requester patterns or their approver identity', () => {
    // Act / Assess
    expect(isSlackRequester(slack, 'U0ALICE', ALICE)).toBe(true);
    expect(isSlackRequester(slack, 'U0ALICE', ALICE_APPROVER)).toBe(true);
    expect(isSlackRequester(slack, 'U0BOB', ALICE)).toBe(false);
    expect(isSlackRequester(slack, 'U0NOBODY', ALICE)).toBe(false);
  });

  it('finds the Slack user behind a principal for mentions', () => {
    // Act / Assess
    expect(slackUserOf(slack, BOB)).toBe('U0BOB');
    expect(slackUserOf(slack, ALICE)).toBe('U0ALICE');
    expect(slackUserOf(slack, 'slack:U0DAVE')).toBe('U0DAVE');
    expect(slackUserOf(slack, arn.assumed('Approver', 'zed'))).toBeUndefined();
  });

  it('states an approval deadline a margin before Step Functions’ own timeout', () => {
    // Act / Assess
    expect(approvalWindowEndsAt('2026-11-22T10:00:00.000Z', 3600)).toBe('2026-11-22T10:59:50.000Z');
    expect(approvalWindowEndsAt('2026-11-22T10:00:00.000Z', 20)).toBe('2026-11-22T10:00:18.000Z');
  });
});
