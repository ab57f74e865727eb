/** How the broker addresses IAM principals: by type and name in its own account (IAM ignores paths). */
import type { AccessRequest } from './model.ts';
import type { PrincipalRef } from './ports.ts';

/** The inline policy's home: role or user name from the target ARN. */
export function principalOf(request: Pick<AccessRequest, 'target' | 'targetType'>): PrincipalRef {
  return { type: request.targetType, name: request.target.slice(request.target.lastIndexOf('/') + 1) };
}

/** True when `principal` is the request's target as the IAM port addresses it. */
export function isTargetOf(
  request: Pick<AccessRequest, 'target' | 'targetType'>,
  principal: PrincipalRef,
): boolean {
  const target = principalOf(request);
  return target.type === principal.type && target.name === principal.name;
}

/** The account id of an IAM ARN (undefined for a wildcard or non-IAM ARN). */
export function accountOf(arn: string): string | undefined {
  return /^arn:[^:]+:iam::(\d{12}):/.exec(arn)?.[1];
}
