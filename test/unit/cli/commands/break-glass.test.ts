import { describe, expect, it } from 'vitest';
import { buildBreakGlassBody } from '../../../../cli/commands/break-glass.ts';
import { CliError, EXIT } from '../../../../cli/errors.ts';
import { type ApiCall, apiError, cliHarness, fakeApi, NOT_FOUND } from '../fake-api.ts';

const ALICE = 'arn:aws:sts::111122223333:assumed-role/Operator/alice';
const ROLE = 'arn:aws:iam::111122223333:role/app-operator';
const ID = '01JBREAKGLASS00000000000001';

const FLAGS = {
  target: ROLE,
  action: ['s3:GetObject', 's3:PutObject'],
  resource: ['arn:aws:s3:::app-data', 'arn:aws:s3:::app-data/*'],
  incident: 'INC-1234',
  reasonCode: 'outage',
  reason: 'restore the export',
};

/** The options of FLAGS on the command line, each action and resource as its own repeated option. */
const ARGS = [
  '--target',
  ROLE,
  '--action',
  's3:GetObject',
  '--action',
  's3:PutObject',
  '--resource',
  'arn:aws:s3:::app-data',
  '--resource',
  'arn:aws:s3:::app-data/*',
  '--incident',
  'INC-1234',
  '--reason-code',
  'outage',
  '--reason',
  'restore the export',
];

/** The request document of `GET /requests/{id}` in `status`. */
function doc(status: string, expiresAt?: string) {
  return {
    id: ID,
    status,
    kind: 'policy',
    requester: ALICE,
    target: ROLE,
    targetType: 'role',
    ruleId: 'break-glass-ops',
    permissions: [{ actions: FLAGS.action, resources: FLAGS.resource }],
    durationSeconds: 1800,
    reason: FLAGS.reason,
    reasonCode: 'outage',
    approvals: [],
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    ...(expiresAt ? { expiresAt } : {}),
    breakGlass: { incident: 'INC-1234', reviews: [] },
    events: [],
  };
}

/** A broker that takes the request and answers `statuses` to successive polls (the last one forever). */
function broker(statuses: string[], expiresAt?: string) {
  return fakeApi((call: ApiCall, n) => {
    if (call.method === 'POST' && call.path === '/requests')
      return { status: 202, body: { requestId: ID, status: 'REQUESTED' } };
    if (call.method === 'GET' && call.path === `/requests/${ID}`) {
      const status = statuses[Math.min(n, statuses.length - 1)] ?? 'REQUESTED';
      return { status: 200, body: doc(status, expiresAt) };
    }
    return NOT_FOUND;
  });
}

describe('buildBreakGlassBody', () => {
  it('builds the request body with the incident and the reason code', () => {
    // Act
    const body = buildBreakGlassBody({ ...FLAGS, duration: 1800, kind: 'credentials', wait: true });
    // Assess
    expect(body).toEqual({
      kind: 'credentials',
      target: ROLE,
      permissions: [
        {
          actions: ['s3:GetObject', 's3:PutObject'],
          resources: ['arn:aws:s3:::app-data', 'arn:aws:s3:::app-data/*'],
        },
      ],
      durationSeconds: 1800,
      reason: 'restore the export',
      incident: 'INC-1234',
      reasonCode: 'outage',
    });
  });

  it.each([
    [{ incident: undefined }, '--incident is required'],
    [{ incident: '  ' }, '--incident is required'],
    [{ reasonCode: undefined }, '--reason-code is required'],
    [{ reason: undefined }, '--reason is required'],
    [{ target: undefined }, '--target is required'],
    [{ resource: undefined }, '--action and --resource go together'],
    [{ action: undefined, resource: undefined }, '--action and --resource are required'],
  ])('refuses with exit 5 when a flag is missing (%j)', (missing, message) => {
    // Act
    let error: unknown;
    try {
      buildBreakGlassBody({ ...FLAGS, ...missing });
    } catch (e) {
      error = e;
    }
    // Assess
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(EXIT.INVALID);
    expect((error as Error).message).toContain(message);
  });
});

describe('jit break-glass', () => {
  const { out, jit } = cliHarness(ALICE);

  it('posts the body built from repeated flags and prints the grant once it is active', async () => {
    // Prepare
    const expiresAt = new Date(Date.now() + 1_800_000).toISOString();
    const api = broker(['GRANTED'], expiresAt);
    // Act
    const code = await jit('break-glass', ...ARGS, '--duration', '30m');
    // Assess
    expect(code).toBe(EXIT.OK);
    expect(api.calls.map((c) => `${c.method} ${c.path}`)).toEqual(['POST /requests', `GET /requests/${ID}`]);
    expect(api.calls[0]?.body).toEqual({
      target: ROLE,
      permissions: [
        {
          actions: ['s3:GetObject', 's3:PutObject'],
          resources: ['arn:aws:s3:::app-data', 'arn:aws:s3:::app-data/*'],
        },
      ],
      durationSeconds: 1800,
      reason: 'restore the export',
      incident: 'INC-1234',
      reasonCode: 'outage',
    });
    expect(out.stdout).toContain(`${ID}  GRANTED  break-glass  INC-1234 (outage)`);
    expect(out.stdout).toMatch(new RegExp(`target +${ROLE}`));
    expect(out.stdout).toMatch(new RegExp(`until +${expiresAt} \\(\\d+m left\\)`));
    expect(out.stderr).toContain(`break-glass ${ID} has been announced, and two reviewers will review it`);
  });

  it('waits through the steps before the grant', async () => {
    // Prepare
    const api = broker(['APPROVED', 'GRANTED'], new Date(Date.now() + 600_000).toISOString());
    // Act
    const code = await jit('break-glass', ...ARGS);
    // Assess
    expect(code).toBe(EXIT.OK);
    expect(api.calls.filter((c) => c.method === 'GET')).toHaveLength(2);
    expect(out.stderr).toContain(`${ID}  APPROVED`);
    expect(out.stdout).toContain(`${ID}  GRANTED`);
  });

  it('prints the granted request as JSON with --json', async () => {
    // Prepare
    broker(['GRANTED'], new Date(Date.now() + 600_000).toISOString());
    // Act
    const code = await jit('--json', 'break-glass', ...ARGS);
    // Assess
    expect(code).toBe(EXIT.OK);
    expect(JSON.parse(out.stdout)).toMatchObject({ id: ID, status: 'GRANTED', target: ROLE });
  });

  it('exits 3 when the grant fails', async () => {
    // Prepare
    broker(['GRANT_FAILED']);
    // Act
    const code = await jit('break-glass', ...ARGS);
    // Assess
    expect(code).toBe(EXIT.ENDED);
    expect(out.stdout).toContain(`${ID}  GRANT_FAILED`);
    expect(out.stderr).toContain(`request ${ID} ended GRANT_FAILED`);
    expect(out.stderr).not.toContain('has been announced');
  });

  it('prints the request id and returns with --no-wait', async () => {
    // Prepare
    const api = broker(['GRANTED']);
    // Act
    const code = await jit('break-glass', ...ARGS, '--no-wait');
    // Assess
    expect(code).toBe(EXIT.OK);
    expect(api.calls.map((c) => c.method)).toEqual(['POST']);
    expect(out.stdout).toBe(`${ID}\n`);
  });

  it('refuses a missing incident with exit 5 before any call', async () => {
    // Prepare
    const api = broker(['GRANTED']);
    const args = ARGS.filter((a, i) => a !== '--incident' && ARGS[i - 1] !== '--incident');
    // Act
    const code = await jit('break-glass', ...args);
    // Assess
    expect(code).toBe(EXIT.INVALID);
    expect(api.calls).toEqual([]);
    expect(out.stderr).toContain('--incident is required');
  });

  it.each([
    [
      apiError(409, 'BreakGlassActive', 'break-glass request 01JOTHER is still active', 'incident'),
      EXIT.FAILURE,
      'BreakGlassActive: incident break-glass request 01JOTHER is still active',
    ],
    [
      apiError(403, 'Forbidden', 'the review of break-glass request 01JOLD is overdue', 'incident'),
      EXIT.UNAUTHORIZED,
      'Forbidden: incident the review of break-glass request 01JOLD is overdue',
    ],
    [
      apiError(400, 'InvalidRequest', 'must be one of outage, security-incident', 'reasonCode'),
      EXIT.INVALID,
      'InvalidRequest: reasonCode must be one of outage, security-incident',
    ],
  ])('maps a refusal to its exit code (%#)', async (answer, exit, line) => {
    // Prepare
    const api = fakeApi(() => answer);
    // Act
    const code = await jit('break-glass', ...ARGS);
    // Assess
    expect(code).toBe(exit);
    expect(api.calls).toHaveLength(1);
    expect(out.stderr).toContain(line);
  });
});
