/**
 * The `policy` kind: an inline policy `jit-<requestId>` on the target role or user, every Allow carrying
 * the expiry condition, written and removed with a read-back.
 */
import type { AccessRequest } from '../../model.ts';
import { principalOf, withoutPath } from '../../principals.ts';
import type { GrantKindModule, GrantPorts } from '../kind.ts';
import {
  buildGrantPolicy,
  INLINE_POLICY_LIMITS,
  isoSeconds,
  policyName,
  policySize,
} from '../policy-document.ts';
import { deleteVerified, putVerified } from '../verified-iam.ts';

/** Deletes the request's policy (already gone = done) and proves it is gone by reading it back. */
async function removePolicy(ports: GrantPorts, request: AccessRequest): Promise<string> {
  const name = policyName(request.id);
  await deleteVerified(ports.iam, principalOf(request), name, request.target);
  return name;
}

export const inlinePolicy: GrantKindModule = {
  attachesAllow: true,

  ruleIssues: () => [],

  targetIssues: () => [],

  limitIssues({ targetType, permissions }) {
    // Size with a worst-case timestamp: the real one is the same length.
    const size = policySize(buildGrantPolicy(permissions, isoSeconds(new Date(0))));
    const limit = INLINE_POLICY_LIMITS[targetType];
    if (size <= limit) return [];
    const what = `IAM allows for a ${targetType}'s inline policies`;
    return [{ field: 'permissions', message: `the policy would be ${size} characters; ${what} is ${limit}` }];
  },

  async grant(ports, request) {
    const expiresAt = isoSeconds(new Date(ports.clock.now().getTime() + request.durationSeconds * 1000));
    const name = policyName(request.id);
    const document = JSON.stringify(buildGrantPolicy(request.permissions, expiresAt));
    await putVerified(ports.iam, principalOf(request), name, document, request.target);
    return {
      expiresAt,
      details: {
        policyName: name,
        expiresAt,
        statements: request.permissions.length,
        // Correlation keys of the audit review: calls of this principal, in this account, in the window.
        principal: withoutPath(request.target),
        account: principalOf(request).account,
      },
      patch: { expiresAt },
    };
  },

  async revoke(ports, request) {
    return { details: { policyName: await removePolicy(ports, request), verified: true } };
  },

  async compensate(ports, request) {
    return { details: { policyName: await removePolicy(ports, request), removed: true } };
  },

  cleanupAt: () => null,

  async cleanup() {
    return { removed: false, details: {} };
  },
};
