import { describe, expect, it } from 'vitest';
import { buildRequestBody } from '../../../../cli/commands/request.ts';
import { EXIT } from '../../../../cli/errors.ts';
import type { EligibleRule } from '../../../../cli/types.ts';

const ROLE = 'arn:aws:iam::111122223333:role/app-reader';
const rule = (targets: string[]): EligibleRule => ({
  id: 'app-read',
  kind: 'policy',
  targets,
  actions: ['s3:GetObject', 's3:ListBucket'],
  resources: ['arn:aws:s3:::app-data', 'arn:aws:s3:::app-data/*'],
  maxDurationSeconds: 3600,
  approval: { approvers: ['arn:aws:sts::111122223333:assumed-role/Approver/*'], minApprovals: 1 },
});

describe('buildRequestBody', () => {
  it('asks for everything a rule allows, on its one concrete target', () => {
    // Act
    const body = buildRequestBody({ rule: 'app-read', reason: 'debug', duration: 1800 }, {}, rule([ROLE]));
    // Assess
    expect(body).toEqual({
      kind: 'policy',
      target: ROLE,
      permissions: [
        {
          actions: ['s3:GetObject', 's3:ListBucket'],
          resources: ['arn:aws:s3:::app-data', 'arn:aws:s3:::app-data/*'],
        },
      ],
      durationSeconds: 1800,
      reason: 'debug',
    });
  });

  it('narrows a rule with --action and --resource, and needs --target for a target pattern', () => {
    // Prepare
    const patterned = rule(['arn:aws:iam::111122223333:role/app-*']);
    // Act
    const narrowed = buildRequestBody(
      { target: ROLE, action: ['s3:GetObject'], resource: ['arn:aws:s3:::app-data/q3.csv'], reason: 'debug' },
      {},
      patterned,
    );
    const untargeted = () => buildRequestBody({ reason: 'debug' }, {}, patterned);
    // Assess
    expect(narrowed.permissions).toEqual([
      { actions: ['s3:GetObject'], resources: ['arn:aws:s3:::app-data/q3.csv'] },
    ]);
    expect(untargeted).toThrow(expect.objectContaining({ exitCode: EXIT.INVALID }));
    expect(untargeted).toThrow(
      '--target is required: rule app-read allows arn:aws:iam::111122223333:role/app-*',
    );
  });

  it('lets the options override a --file body', () => {
    // Prepare
    const file = {
      target: ROLE,
      permissions: [{ actions: ['s3:GetObject'], resources: ['*'] }],
      durationSeconds: 60,
      reason: 'from the file',
      ticket: 'OPS-1',
    };
    // Act
    const body = buildRequestBody({ duration: 900, reason: 'override' }, file);
    // Assess
    expect(body).toEqual({ ...file, durationSeconds: 900, reason: 'override' });
  });

  it.each([
    [{ action: ['s3:GetObject'], resource: ['*'], reason: 'x' }, '--target is required'],
    [{ target: ROLE, reason: 'x' }, '--action and --resource are required'],
    [{ target: ROLE, action: ['s3:GetObject'], reason: 'x' }, '--action and --resource go together'],
    [{ target: ROLE, action: ['s3:GetObject'], resource: ['*'] }, '--reason is required'],
  ])('names what is missing (%j)', (flags, message) => {
    // Act
    const build = () => buildRequestBody(flags);
    // Assess
    expect(build).toThrow(message);
  });

  it('refuses a --kind the rule does not hand out', () => {
    // Act
    const build = () => buildRequestBody({ kind: 'credentials', reason: 'x' }, {}, rule([ROLE]));
    // Assess
    expect(build).toThrow('--kind credentials: rule app-read hands out policy grants');
  });
});
