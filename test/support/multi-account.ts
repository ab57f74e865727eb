/** A multi-account policy config (tests): hub H (listed too), targets in B and C, all through grantors. */
import { type PolicyConfig, type PolicyConfigInput, parsePolicyConfig } from '#core/policy/config.ts';

export const HUB = '111122223333';
export const B = '222233334444';
export const C = '333344445555';
export const EXTERNAL_ID = 'jit-4f9c2a7e1b3d5a6c';
export const ORG_ID = 'o-abcdefghij';
export const BROKER_STACK = 'JitBroker';

/** The config as written; `overrides` replaces top-level fields. */
export function multiAccountInput(overrides: Partial<PolicyConfigInput> = {}): PolicyConfigInput {
  const dev = `arn:aws:sts::${HUB}:assumed-role/Developer/*`;
  return {
    accounts: [
      { id: HUB, name: 'hub' },
      { id: B, name: 'workload-b' },
      { id: C, name: 'workload-c' },
    ],
    externalId: EXTERNAL_ID,
    organizationId: ORG_ID,
    protectedPrincipals: [`arn:aws:iam::*:role/app-broker-*`, `arn:aws:iam::${B}:role/app-admin`],
    rules: [
      {
        id: 'app-read',
        requesters: [dev],
        targets: ['arn:aws:iam::*:role/app-*'],
        actions: ['s3:GetObject'],
        resources: ['arn:aws:s3:::app-data/*'],
        maxDurationSeconds: 3600,
        approval: 'auto',
      },
      {
        id: 'ops-b',
        requesters: [dev],
        targets: [`arn:aws:iam::${B}:role/ops-*`],
        actions: ['logs:GetLogEvents'],
        resources: [`arn:aws:logs:*:${B}:log-group:*`],
        maxDurationSeconds: 1800,
        approval: 'auto',
      },
      {
        id: 'svc-c',
        requesters: [dev],
        targets: [`arn:aws:iam::${C}:user/svc-*`],
        actions: ['s3:GetObject'],
        resources: ['arn:aws:s3:::*'],
        maxDurationSeconds: 3600,
        approval: 'auto',
      },
      {
        id: 'release-b',
        kind: 'credentials',
        requesters: [dev],
        targets: [`arn:aws:iam::${B}:role/jit-release-*`],
        actions: ['s3:PutObject'],
        resources: ['arn:aws:s3:::release/*'],
        maxDurationSeconds: 3600,
        approval: 'auto',
      },
    ],
    ...overrides,
  };
}

export function multiAccountConfig(overrides: Partial<PolicyConfigInput> = {}): PolicyConfig {
  return parsePolicyConfig(multiAccountInput(overrides));
}
