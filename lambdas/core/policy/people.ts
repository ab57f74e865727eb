/**
 * Who is who: the one notion of a person behind principal ARNs, for self-approval and quorum (invariant 3).
 *
 * A principal has identity keys; two principals whose keys intersect are the same person. The keys are the
 * last ARN segment (always: conservative, and all the broker knew before mappings), every `people` entry
 * whose patterns match the principal, and every Slack user the principal is mapped to (as approver or
 * requester). A mapping can only join people, never split them.
 */
import { arnMatches } from '../principals.ts';
import { SLACK_APPROVER_PREFIX, type SlackConfig } from './slack-config.ts';

/** The parts of the policy config that say who is who (structural, so tests may pass a partial config). */
export interface PeopleConfig {
  /** Person name → principal ARN patterns of that one person. */
  readonly people?: Readonly<Record<string, readonly string[]>> | undefined;
  readonly slack?: Pick<SlackConfig, 'users'> | undefined;
}

/**
 * The name at the end of a principal ARN, lowercased: the session name of an assumed-role session (with
 * IAM Identity Center, the user name, identical across permission sets) or the IAM user name. With plain
 * AssumeRole the caller picks the session name: approver patterns should name roles whose session names
 * the identity provider sets.
 */
export function personOf(principalArn: string): string {
  return principalArn.slice(principalArn.lastIndexOf('/') + 1).toLowerCase();
}

/**
 * The identity keys of a principal: `name:<last segment>`, `person:<name>` per matching `people` entry and
 * `slack:<user id>` per Slack user mapped to it. A `slack:<id>` identity is keyed as that Slack user.
 */
export function identityKeys(config: PeopleConfig, principal: string): Set<string> {
  const keys = new Set([`name:${personOf(principal)}`]);
  if (principal.startsWith(SLACK_APPROVER_PREFIX)) keys.add(principal);
  for (const [name, patterns] of Object.entries(config.people ?? {})) {
    if (patterns.some((p) => arnMatches(p, principal))) keys.add(`person:${name}`);
  }
  for (const [id, user] of Object.entries(config.slack?.users ?? {})) {
    if (user.approver === principal || (user.requester ?? []).some((p) => arnMatches(p, principal))) {
      keys.add(`${SLACK_APPROVER_PREFIX}${id}`);
    }
  }
  return keys;
}

function intersects(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  for (const key of a) if (b.has(key)) return true;
  return false;
}

/** True when both principals are, per the config, one person (their identity keys intersect). */
export function samePerson(config: PeopleConfig, a: string, b: string): boolean {
  return a === b || intersects(identityKeys(config, a), identityKeys(config, b));
}

/**
 * How many distinct people a list of approver principals holds, for a quorum: an approval counts only if
 * it shares no identity key with an approval already counted.
 */
export function distinctPeople(config: PeopleConfig, principals: readonly string[]): number {
  const counted = new Set<string>();
  let count = 0;
  for (const principal of principals) {
    const keys = identityKeys(config, principal);
    if (intersects(keys, counted)) continue;
    for (const key of keys) counted.add(key);
    count++;
  }
  return count;
}
