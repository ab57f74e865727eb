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

/** What a role session may do: the role's policies ∩ its session policy, within its credentials' life. */
export type SessionVerdict = Verdict | 'CredentialsExpired';

/**
 * Evaluates a request made *as an STS role session*: with `aws:userid`, `aws:TokenIssueTime` and
 * `aws:CurrentTime` in the context, against the role's inline policies and, separately, the session
 * policy (an explicit deny in either wins; both must allow), after checking the credentials are alive.
 * iam-simulate has no session-policy input yet, hence the two evaluations.
 */
export async function evaluateSession(input: {
  session: { arn: string; userId: string; issuedAt: string; expiresAt: string; sessionPolicy: unknown };
  rolePolicies: Record<string, string | object>;
  action: string;
  resource: string;
  at: Date;
}): Promise<SessionVerdict> {
  if (input.at.getTime() >= Date.parse(input.session.expiresAt)) return 'CredentialsExpired';
  const context = { 'aws:userid': input.session.userId, 'aws:TokenIssueTime': input.session.issuedAt };
  const common = {
    principal: input.session.arn,
    action: input.action,
    resource: input.resource,
    at: input.at,
    context,
  };
  const byRole = await evaluate({ ...common, inlinePolicies: input.rolePolicies });
  const bySession = await evaluate({
    ...common,
    inlinePolicies: { session: input.session.sessionPolicy as object },
  });
  if (byRole === 'ExplicitlyDenied' || bySession === 'ExplicitlyDenied') return 'ExplicitlyDenied';
  return byRole === 'Allowed' && bySession === 'Allowed' ? 'Allowed' : 'ImplicitlyDenied';
}
