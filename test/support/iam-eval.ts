import { runSimulation } from '@cloud-copilot/iam-simulate';

/** IAM's verdict on one request. */
export type Verdict = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

/**
 * Asks the IAM policy evaluator (@cloud-copilot/iam-simulate, AGPL: tests only) whether `principal`, holding
 * exactly `inlinePolicies` (name → JSON document), may do `action` on `resource` at time `at`.
 * Same-account request, no resource policy, no SCPs: the identity policies alone decide.
 */
export async function evaluate(input: {
  principal: string;
  inlinePolicies: Record<string, string | object>;
  action: string;
  resource: string;
  at: Date;
  context?: Record<string, string>;
}): Promise<Verdict> {
  const account = /^arn:aws:(?:iam|sts)::(\d{12}):/.exec(input.principal)?.[1] ?? '111122223333';
  const response = await runSimulation(
    {
      request: {
        principal: input.principal,
        action: input.action,
        resource: { resource: input.resource, accountId: account },
        contextVariables: { 'aws:CurrentTime': input.at.toISOString(), ...input.context },
      },
      identityPolicies: Object.entries(input.inlinePolicies).map(([name, doc]) => ({
        name,
        policy: typeof doc === 'string' ? JSON.parse(doc) : doc,
      })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    } as never,
    {},
  );
  if (response.resultType === 'error')
    throw new Error(`simulation refused: ${JSON.stringify(response.errors)}`);
  return response.overallResult as Verdict;
}
