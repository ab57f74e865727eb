// biome-ignore-all lint/suspicious/noTemplateCurlyInString: IAM policy variables are literal ${…} text here.
import { describe, expect, it } from 'vitest';
import {
  accountOf,
  arnCovers,
  arnMatches,
  hasBrokenPolicyVariable,
  policyVariables,
  splitArn,
} from '#core/principals.ts';

const ci = { caseInsensitive: true };

describe('splitArn', () => {
  it('keeps the colons of the resource part in the resource', () => {
    // Act
    const parts = splitArn('arn:aws:logs:eu-west-1:111122223333:log-group:/app/web:*');
    // Assess
    expect(parts).toEqual({
      partition: 'aws',
      service: 'logs',
      region: 'eu-west-1',
      account: '111122223333',
      resource: 'log-group:/app/web:*',
    });
  });

  it('does not split at the colon inside a policy variable', () => {
    // Act
    const parts = splitArn('arn:aws:dynamodb:${aws:RequestedRegion}:111122223333:table/x');
    // Assess
    expect(parts?.region).toBe('${aws:RequestedRegion}');
    expect(parts?.account).toBe('111122223333');
  });

  it.each([
    ['arn:aws:s3:app-data/x', 'fewer than six segments'],
    ['arn:aws:s3:::', 'no resource'],
    ['arn::s3:::x', 'no partition'],
    ['arx:aws:s3:::x', 'not starting with arn'],
    ['*', 'a bare star'],
  ])('refuses %s (%s)', (text) => {
    // Act
    const parts = splitArn(text);
    // Assess
    expect(parts).toBeUndefined();
  });
});

describe('arnCovers', () => {
  it.each([
    [
      'arn:aws:dynamodb:eu-*:111122223333:table/orders-*',
      'arn:aws:dynamodb:eu-west-1:111122223333:table/orders-1',
    ],
    [
      'arn:aws:dynamodb:eu-*:111122223333:table/orders-*',
      'arn:aws:dynamodb:eu-?est-1:111122223333:table/orders-*',
    ],
    ['arn:aws:logs:*:111122223333:log-group:*', 'arn:aws:logs:eu-west-1:111122223333:log-group:/app:*'],
    ['arn:aws:s3:::home/${aws:username}/*', 'arn:aws:s3:::home/${aws:username}/notes.txt'],
    ['*', 'arn:aws:s3:::anything'],
    ['*', '*'],
  ])('%s covers %s', (outer, inner) => {
    // Act
    const result = arnCovers(outer, inner);
    // Assess
    expect(result).toBe(true);
  });

  it.each([
    [
      'arn:aws:dynamodb:eu-*:111122223333:table/orders-*',
      'arn:aws:dynamodb:eu-west-1:999988887777:x:111122223333:table/orders-*',
      'a region wildcard stretched over the account',
    ],
    [
      'arn:aws:lambda:*:111122223333:function:app-*',
      'arn:aws:lambda:*:*:*:111122223333:function:app-*',
      'a star account hidden behind a star region',
    ],
    [
      'arn:aws:dynamodb:*:111122223333:table/app-*',
      'arn:aws:dynamodb:*:*:table/app-*',
      'a star account against a concrete one',
    ],
    ['arn:aws:s3:::*', 'arn:aws:dynamodb:::app-data', 'another service'],
    ['arn:aws:s3:::app-data/*', 'arn:aws:s3:::app-data/${aws:username}', 'a policy variable under a star'],
    [
      'arn:aws:s3:::home/${aws:username}/*',
      'arn:aws:s3:::home/${aws:userid}/*',
      'another policy variable at the same place',
    ],
    ['arn:aws:s3:::*', '*', 'every resource'],
    ['arn:aws:s3:*', 'arn:aws:s3:::app-data', 'a rule pattern that is no ARN'],
  ])('%s does not cover %s (%s)', (outer, inner) => {
    // Act
    const result = arnCovers(outer, inner);
    // Assess
    expect(result).toBe(false);
  });
});

describe('arnMatches', () => {
  it.each([
    ['arn:aws:iam::*:role/app-*', 'arn:aws:iam::999988887777:x:role/app-reader', 'a target pattern'],
    [
      'arn:aws:iam::*:role/app-broker-*',
      'arn:aws:iam::111122223333:x:role/app-broker-grant',
      'a protected one',
    ],
    [
      'arn:aws:sts::*:assumed-role/Approver/*',
      'arn:aws:sts::999988887777:x:assumed-role/Approver/bob',
      'an approver',
    ],
  ])('never lets a star account of %s match across a colon (%s)', (pattern, principal) => {
    // Act
    const result = arnMatches(pattern, principal);
    // Assess
    expect(result).toBe(false);
  });

  it('matches a principal segment by segment, ignoring case when asked', () => {
    // Act
    const plain = arnMatches('arn:aws:iam::*:role/app-*', 'arn:aws:iam::111122223333:role/app-reader');
    const sensitive = arnMatches('arn:aws:iam::*:role/app-*', 'arn:aws:iam::111122223333:role/App-Reader');
    const insensitive = arnMatches(
      'arn:aws:iam::*:role/app-*',
      'arn:aws:iam::111122223333:role/App-Reader',
      ci,
    );
    // Assess
    expect(plain).toBe(true);
    expect(sensitive).toBe(false);
    expect(insensitive).toBe(true);
  });

  it('matches nothing that is not an ARN, unless the pattern is a bare star', () => {
    // Act
    const slackId = arnMatches('arn:aws:sts::*:assumed-role/*', 'slack:U0ALICE');
    const star = arnMatches('*', 'slack:U0ALICE');
    // Assess
    expect(slackId).toBe(false);
    expect(star).toBe(true);
  });
});

describe('policy variables', () => {
  it('lists the variables and spots a "${" that opens none', () => {
    // Act
    const listed = policyVariables('arn:aws:s3:::home/${aws:username}/${aws:userid}');
    const broken = hasBrokenPolicyVariable('arn:aws:s3:::home/${aws:username');
    const whole = hasBrokenPolicyVariable('arn:aws:s3:::home/${aws:username}');
    // Assess
    expect(listed).toEqual(['${aws:username}', '${aws:userid}']);
    expect(broken).toBe(true);
    expect(whole).toBe(false);
  });
});

describe('accountOf', () => {
  it.each([
    ['arn:aws:iam::111122223333:role/app-reader', '111122223333'],
    ['arn:aws:iam::*:role/app-*', undefined],
    ['arn:aws:dynamodb:eu-west-1:111122223333:table/x', undefined],
  ])('reads the account of %s as %s', (arn, expected) => {
    // Act
    const account = accountOf(arn);
    // Assess
    expect(account).toBe(expected);
  });
});
