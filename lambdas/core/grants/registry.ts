/**
 * The grant kinds, by name. Adding a kind is one folder (its module), one adapter if it needs a new AWS
 * API, a name in `kinds.ts` and one line here (plus the CDK permissions its work needs).
 */

import { inlinePolicy } from './inline-policy/inline-policy.ts';
import type { GrantKindModule } from './kind.ts';
import type { GrantKind } from './kinds.ts';
import { stsCredentials } from './sts-credentials/sts-credentials.ts';

const REGISTRY: Readonly<Record<GrantKind, GrantKindModule>> = {
  policy: inlinePolicy,
  credentials: stsCredentials,
};

/** The module of a grant kind. */
export function kindOf(kind: GrantKind): GrantKindModule {
  return REGISTRY[kind];
}
