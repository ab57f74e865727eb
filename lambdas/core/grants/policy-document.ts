import type { Permission } from '../model.ts';

/** IAM limits on inline policies: the sum of all inline policies of a role, or of a user (no whitespace). */
export const INLINE_POLICY_LIMITS = { role: 10_240, user: 2_048 } as const;

/** Every policy the broker writes is named `jit-<requestId>`; nothing else carries that prefix. */
export const POLICY_PREFIX = 'jit-';

/** The inline policy name of a request. */
export function policyName(requestId: string): string {
  return `${POLICY_PREFIX}${requestId}`;
}

/** An IAM policy document as we write it. */
export interface PolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: readonly {
    readonly Sid: string;
    readonly Effect: 'Allow';
    readonly Action: readonly string[];
    readonly Resource: readonly string[];
    readonly Condition: { readonly DateLessThan: { readonly 'aws:CurrentTime': string } };
  }[];
}

/**
 * Builds the grant policy: one Allow statement per permission block, each inert from `expiresAt` on
 * (IAM-level expiry, the first of the three layers that end a grant).
 */
export function buildGrantPolicy(permissions: readonly Permission[], expiresAt: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: permissions.map((p, i) => ({
      Sid: `Jit${i}`,
      Effect: 'Allow',
      Action: [...new Set(p.actions)],
      Resource: [...new Set(p.resources)],
      Condition: { DateLessThan: { 'aws:CurrentTime': expiresAt } },
    })),
  };
}

/** The size IAM counts against the inline-policy quota: the JSON without whitespace. */
export function policySize(doc: PolicyDocument | string): number {
  const text = typeof doc === 'string' ? doc : JSON.stringify(doc);
  return text.replace(/\s+/g, '').length;
}

/** The timestamp format used for expiresAt everywhere: ISO 8601 UTC to the second. */
export function isoSeconds(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}
