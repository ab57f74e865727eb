import { describe, expect, it } from 'vitest';
import { type ConfigError, ConflictError, SelfApprovalError } from '#core/errors.ts';
import { parsePolicyConfig } from '#core/policy/config.ts';
import {
  distinctPeople,
  identityKeys,
  type PeopleConfig,
  personOf,
  samePerson,
} from '#core/policy/people.ts';
import { decide } from '#core/requests/requests.ts';
import {
  ALICE,
  arn,
  BOB,
  CAROL,
  fakeDeps,
  pendingRequest,
  testConfig,
  testConfigInput,
} from '../../../support/fakes.ts';

const ALICE_SRE = arn.assumed('SRE', 'alice-sre');
const BOB_SRE = arn.assumed('SRE', 'bob-sre');

/** Alice's two principals linked by a `people` entry. */
const BY_PEOPLE: PeopleConfig = { people: { alice: [ALICE, arn.assumed('SRE', 'alice-*')] } };
/** Alice's two principals linked by her Slack user (requester patterns + approver). */
const BY_SLACK: PeopleConfig = { slack: { users: { U0ALICE: { approver: ALICE_SRE, requester: [ALICE] } } } };

function issuesOf(input: unknown): string[] {
  try {
    parsePolicyConfig(input);
    return [];
  } catch (error) {
    return ((error as ConfigError).details ?? []).map((i) => `${i.field}: ${i.message}`);
  }
}

describe('identityKeys', () => {
  it('keys a principal by its lowercased last segment, its people entries and its Slack users', () => {
    // Prepare
    const config: PeopleConfig = { ...BY_PEOPLE, ...BY_SLACK };
    // Act
    const keys = identityKeys(config, ALICE_SRE);
    // Assess
    expect(keys).toEqual(new Set(['name:alice-sre', 'person:alice', 'slack:U0ALICE']));
  });

  it('keys an unmapped principal by its last segment only', () => {
    // Act
    const keys = identityKeys(BY_PEOPLE, arn.user('ops/Bob'));
    // Assess
    expect(keys).toEqual(new Set(['name:bob']));
  });
});

describe('samePerson', () => {
  it.each([
    ['a people entry', BY_PEOPLE],
    ['a Slack user', BY_SLACK],
  ])('joins two principals linked by %s', (_, config) => {
    // Act / Assess
    expect(samePerson(config, ALICE, ALICE_SRE)).toBe(true);
    expect(samePerson(config, ALICE_SRE, ALICE)).toBe(true);
    expect(samePerson(config, ALICE, BOB)).toBe(false);
  });

  it('keeps the last-segment rule without any mapping', () => {
    // Act / Assess
    expect(samePerson({}, ALICE, arn.assumed('Approver', 'Alice'))).toBe(true);
    expect(samePerson({}, ALICE, arn.user('alice'))).toBe(true);
    expect(samePerson({}, ALICE, ALICE_SRE)).toBe(false);
  });

  it('never splits a name a mapping does not mention', () => {
    // Prepare: a mapping for bob only.
    const config: PeopleConfig = { people: { bob: [BOB, BOB_SRE] } };
    // Act / Assess
    expect(samePerson(config, ALICE, arn.assumed('SRE', 'alice'))).toBe(true);
    expect(samePerson(config, ALICE, BOB_SRE)).toBe(false);
  });
});

describe('distinctPeople', () => {
  it('counts two principals of one person once', () => {
    // Act / Assess
    expect(distinctPeople(BY_PEOPLE, [ALICE, ALICE_SRE, BOB])).toBe(2);
    expect(distinctPeople(BY_SLACK, [ALICE_SRE, ALICE])).toBe(1);
    expect(distinctPeople({}, [ALICE, ALICE_SRE, BOB, CAROL])).toBe(4);
  });

  it('counts an approval only when it shares no key with one already counted', () => {
    // Prepare: bob ~ bob-sre (people), bob-sre ~ carol (Slack user); bob and carol share nothing.
    const config: PeopleConfig = {
      people: { bob: [BOB, BOB_SRE] },
      slack: { users: { U0CAROL: { approver: CAROL, requester: [BOB_SRE] } } },
    };
    // Act
    const linkerFirst = distinctPeople(config, [BOB_SRE, BOB, CAROL]);
    const linkerLast = distinctPeople(config, [BOB, CAROL, BOB_SRE]);
    // Assess
    expect(linkerFirst).toBe(1);
    expect(linkerLast).toBe(2);
  });
});

describe('policy config: people section', () => {
  it('defaults people to an empty map and keeps valid entries', () => {
    // Act
    const none = parsePolicyConfig(testConfigInput());
    const some = parsePolicyConfig({
      ...testConfigInput(),
      people: { 'alice.smith@corp': [ALICE, ALICE_SRE] },
    });
    // Assess
    expect(none.people).toEqual({});
    expect(some.people).toEqual({ 'alice.smith@corp': [ALICE, ALICE_SRE] });
  });

  it('names the entry of a person whose pattern is not a caller ARN pattern', () => {
    // Act
    const issues = issuesOf({ ...testConfigInput(), people: { alice: [ALICE, 'slack:U0ALICE', '*'] } });
    // Assess
    expect(issues).toEqual([
      'people.alice[1]: must be an IAM user/role or STS assumed-role ARN pattern',
      'people.alice[2]: must be an IAM user/role or STS assumed-role ARN pattern',
    ]);
  });

  it('refuses a bad person name and a person without principals', () => {
    // Act
    const badName = issuesOf({ ...testConfigInput(), people: { 'alice smith': [ALICE] } });
    const empty = issuesOf({ ...testConfigInput(), people: { bob: [] } });
    // Assess
    expect(badName).toEqual(['people.alice smith: must be 1-64 letters, digits, ., _, @ or -']);
    expect(empty).toEqual(['people.bob: must have at least 1 item(s)']);
  });
});

/** Approvers may come from two roles; the same people can hold both. */
function twoApproverRoles(minApprovals: number) {
  const base = testConfigInput({}, minApprovals);
  const [first, ...rest] = base.rules;
  return testConfig({
    rules: [
      {
        ...(first as NonNullable<typeof first>),
        approval: { approvers: [arn.assumed('Approver', '*'), arn.assumed('Developer', '*')], minApprovals },
      },
      ...rest,
    ],
  });
}

describe('approver identity', () => {
  it('takes the person from the session or user name, case-insensitively', () => {
    // Act
    const people = [ALICE, arn.assumed('Approver', 'Alice'), arn.user('ops/alice')].map(personOf);
    // Assess
    expect(new Set(people)).toEqual(new Set(['alice']));
  });

  it('refuses a requester who approves through another role', async () => {
    // Prepare: alice requested as Developer and can also assume an approver role.
    const { deps } = fakeDeps(twoApproverRoles(1));
    const id = await pendingRequest(deps);
    // Act
    const act = decide(deps, arn.assumed('Approver', 'alice'), id, 'approve');
    // Assess
    await expect(act).rejects.toBeInstanceOf(SelfApprovalError);
    expect((await deps.store.get(id))?.status).toBe('PENDING_APPROVAL');
  });

  it('counts one person approving from two roles once toward the quorum', async () => {
    // Prepare
    const { deps, workflow } = fakeDeps(twoApproverRoles(2));
    const id = await pendingRequest(deps);
    await decide(deps, BOB, id, 'approve');
    // Act
    const act = decide(deps, arn.assumed('Developer', 'bob'), id, 'approve');
    // Assess
    await expect(act).rejects.toBeInstanceOf(ConflictError);
    expect((await deps.store.get(id))?.status).toBe('PENDING_APPROVAL');
    expect(workflow.callbacks).toEqual([]);
  });
});
