/**
 * Inline-policy writes that prove themselves: every put is read back and compared, every delete is read
 * back and must be gone (DESIGN invariant 5). One place, so grants, session denies and the sweeper agree.
 */
import { VerificationError } from '../errors.ts';
import type { IamGrants, PrincipalRef } from '../ports.ts';

/** True when both texts are the same JSON document (IAM may re-serialize what it stores). */
function sameDocument(a: string | undefined, b: string): boolean {
  try {
    return a !== undefined && JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
  } catch {
    return false;
  }
}

/** Puts the policy and reads it back; `where` names the principal in the error. */
export async function putVerified(
  iam: IamGrants,
  principal: PrincipalRef,
  name: string,
  document: string,
  where: string,
): Promise<void> {
  await iam.putPolicy(principal, name, document);
  if (!sameDocument(await iam.getPolicy(principal, name), document)) {
    throw new VerificationError(`read-back of ${name} on ${where} does not match what was written`);
  }
}

/** Deletes the policy (already gone = done) and reads it back to prove it is gone. */
export async function deleteVerified(
  iam: IamGrants,
  principal: PrincipalRef,
  name: string,
  where: string,
): Promise<void> {
  await iam.deletePolicy(principal, name);
  if ((await iam.getPolicy(principal, name)) !== undefined) {
    throw new VerificationError(`${name} is still attached to ${where} after delete`);
  }
}
