import { Stack, Validations } from 'aws-cdk-lib';
// The finding id of a wildcard is cdk-nag's own rendering of the resolved resource; computing it with the
// rule's function keeps an acknowledgement right whatever the stack's env makes of partition and region.
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges the cdk-nag AwsSolutions finding `rule` (`APIG2`, `IAM4[Policy::…]`, …) on `scope` and
 * everything under it. Call it where the construct that causes the finding is made, with the reason.
 */
export function acknowledge(scope: IConstruct, rule: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `AwsSolutions::AwsSolutions-${rule}`, reason });
}

/**
 * Acknowledges the wildcard finding (AwsSolutions-IAM5) of one statement resource, as given to the grant
 * (a literal pattern, `*`, or a token such as an ARN with `:*`), on `scope` and everything under it.
 */
export function acknowledgeWildcard(scope: IConstruct, resource: string, reason: string): void {
  acknowledge(scope, `IAM5[Resource::${flattenCfnReference(Stack.of(scope).resolve(resource))}]`, reason);
}
