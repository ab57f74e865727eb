import { Stack } from 'aws-cdk-lib';
import {
  type CfnEventBus,
  type CfnRule,
  EventBus,
  type IEventBus,
  Match,
  Rule,
} from 'aws-cdk-lib/aws-events';
import { EventBus as EventBusTarget, LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { ACCOUNT_ID_RE, ORGANIZATION_ID_RE } from '#core/policy/accounts.ts';

/**
 * The rule state that makes the default bus deliver read-only management events too (with `ENABLED` it
 * delivers write events only, and a JIT grant is mostly used for reads).
 */
export const ALL_MANAGEMENT_EVENTS = 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS';

/**
 * CloudTrail records of calls made with a session the broker minted (`jit-<request id>` session names,
 * and also the broker's own `jit-<function>` sessions on the grantors, which match no request).
 */
export const JIT_SESSION_EVENT_PATTERN = {
  'detail-type': ['AWS API Call via CloudTrail'],
  // Request ids are UUIDs: `jit-*-*-*-*-*` leaves out the broker's own grantor sessions (`jit-grant`,
  // `jit-review`, …), whose calls (the review's LookupEvents among them) are no grant's first use.
  detail: { userIdentity: { arn: [{ wildcard: 'arn:*:sts::*:assumed-role/*/jit-*-*-*-*-*' }] } },
} as const;
const JIT_SESSION_WILDCARD = JIT_SESSION_EVENT_PATTERN.detail.userIdentity.arn[0].wildcard;

/** The hub's event bus that the target accounts forward JIT session activity to. */
export function activityBusName(brokerStackName: string): string {
  const name = `jit-activity-${brokerStackName}`;
  if (name.length > 256)
    throw new Error(`event bus name ${name} is longer than EventBridge's 256 characters`);
  return name;
}

/** The ARN of the hub's activity bus, from its parts (partition and region may be tokens). */
export function activityBusArn(p: {
  partition: string;
  region: string;
  hubAccount: string;
  brokerStackName: string;
}): string {
  return `arn:${p.partition}:events:${p.region}:${p.hubAccount}:event-bus/${activityBusName(p.brokerStackName)}`;
}

/** A rule as CDK builds it, with the JIT session pattern and, on a default bus, read events too. */
function jitSessionRule(scope: Construct, id: string, description: string, eventBus?: IEventBus): Rule {
  const rule = new Rule(scope, id, {
    description,
    ...(eventBus ? { eventBus } : {}),
    eventPattern: {
      detailType: [...JIT_SESSION_EVENT_PATTERN['detail-type']],
      detail: { userIdentity: { arn: Match.wildcard(JIT_SESSION_WILDCARD) } },
    },
  });
  const cfn = rule.node.defaultChild as CfnRule;
  // Only a default bus gets CloudTrail's events by itself; the state is meaningless on a custom bus.
  if (!eventBus) cfn.state = ALL_MANAGEMENT_EVENTS;
  return rule;
}

/** Props of {@link ActivityHub}. */
export interface ActivityHubProps {
  /** The first-use function the JIT session events go to. */
  readonly target: IFunction;
  /**
   * The accounts whose forwarders may put events on the hub bus (the config's listed accounts). Absent:
   * single-account mode, no custom bus, a rule on the hub's default bus.
   */
  readonly accounts?: readonly string[];
  /**
   * With `accounts`: PutEvents also requires the caller to be in this organization (aws:PrincipalOrgID).
   * @default no organization condition
   */
  readonly organizationId?: string;
}

/**
 * Where the JIT sessions' CloudTrail records reach the first-use function. With listed accounts: the hub
 * bus `jit-activity-<broker>` (only those accounts may put events on it, from the organization when one is
 * configured), fed by each account's {@link ActivityForwarder}, and a rule on it. In single-account mode:
 * a rule on the hub's default bus, with the state that includes read-only management events.
 */
export class ActivityHub extends Construct {
  /** The hub bus (listed accounts only). */
  public readonly bus?: EventBus;
  public readonly rule: Rule;

  constructor(scope: Construct, id: string, props: ActivityHubProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const target = new LambdaFunction(props.target, { retryAttempts: 2 });
    if (!props.accounts) {
      this.rule = jitSessionRule(
        this,
        'FirstUseRule',
        'JIT broker: first use of a JIT session (this account)',
      );
      this.rule.addTarget(target);
      return;
    }
    if (props.accounts.length === 0) throw new Error('ActivityHub: accounts must name at least one account');
    const bad = props.accounts.find((a) => !ACCOUNT_ID_RE.test(a));
    if (bad !== undefined) throw new Error(`ActivityHub: "${bad}" is not a 12-digit account id`);
    if (props.organizationId !== undefined && !ORGANIZATION_ID_RE.test(props.organizationId)) {
      throw new Error(`ActivityHub: "${props.organizationId}" is not an organization id`);
    }
    const busName = activityBusName(stack.stackName);
    this.bus = new EventBus(this, 'Bus', {
      eventBusName: busName,
      description: 'JIT broker: CloudTrail records of JIT sessions, forwarded by the target accounts',
    });
    // The whole policy on the bus itself (one resource, no policy statement ids to manage); the bus ARN is
    // built from its name, as a reference to the bus in its own policy would be circular.
    const busArn = stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: busName });
    (this.bus.node.defaultChild as CfnEventBus).policy = {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'ListedAccountsPutEvents',
          Effect: 'Allow',
          Principal: { AWS: [...new Set(props.accounts)] },
          Action: 'events:PutEvents',
          Resource: busArn,
          ...(props.organizationId
            ? { Condition: { StringEquals: { 'aws:PrincipalOrgID': props.organizationId } } }
            : {}),
        },
      ],
    };
    this.rule = jitSessionRule(
      this,
      'FirstUseRule',
      'JIT broker: first use of a JIT session (forwarded by the target accounts)',
      this.bus,
    );
    this.rule.addTarget(target);
  }
}

/** Props of {@link ActivityForwarder}. */
export interface ActivityForwarderProps {
  /** The hub bus's ARN ({@link activityBusArn}). */
  readonly hubBusArn: string;
}

/**
 * In a target account: a rule on the default bus matching the JIT sessions' CloudTrail records (read-only
 * management events included) that forwards them to the hub bus, with a role that may only put events on
 * that bus.
 *
 * A default bus only sees the events delivered in its own region: IAM's (and those of the global STS
 * endpoint) are delivered in us-east-1 only, and every other service's in the region of the call. A region
 * where JIT sessions are used but the grantor is not deployed needs this forwarder there too (deploy a stack
 * with just this construct in that region).
 */
export class ActivityForwarder extends Construct {
  public readonly rule: Rule;
  /** Assumed by EventBridge to put the matched events on the hub bus. */
  public readonly role: Role;

  constructor(scope: Construct, id: string, props: ActivityForwarderProps) {
    super(scope, id);
    const hubBus = EventBus.fromEventBusArn(this, 'HubBus', props.hubBusArn);
    this.role = new Role(this, 'Role', {
      description: 'JIT broker: EventBridge forwards JIT session activity to the hub bus',
      assumedBy: new ServicePrincipal('events.amazonaws.com'),
    });
    this.rule = jitSessionRule(this, 'Rule', 'JIT broker: forwards JIT session activity to the hub');
    // The target grants the role events:PutEvents on the hub bus only.
    this.rule.addTarget(new EventBusTarget(hubBus, { role: this.role }));
  }
}
