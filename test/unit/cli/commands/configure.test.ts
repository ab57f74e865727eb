import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { API_URL_OUTPUT } from '../../../../cli/commands/configure.ts';
import { EXIT } from '../../../../cli/errors.ts';
import { run } from '../../../../cli/program.ts';

const cfn = mockClient(CloudFormationClient);
const API = 'https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/v1';
const stack = (outputs: { OutputKey: string; OutputValue: string }[]) => ({
  Stacks: [
    {
      StackName: 'JitBroker',
      StackStatus: 'UPDATE_COMPLETE' as const,
      CreationTime: new Date(),
      Outputs: outputs,
    },
  ],
});

let dir: string;
let saved: NodeJS.ProcessEnv;
let stdout: string;
let stderr: string;

beforeEach(() => {
  cfn.reset();
  saved = { ...process.env };
  dir = mkdtempSync(join(tmpdir(), 'jit-configure-'));
  process.env.XDG_CONFIG_HOME = join(dir, 'xdg');
  process.env.NO_COLOR = '1';
  stdout = '';
  stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((t) => {
    stdout += String(t);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((t) => {
    stderr += String(t);
    return true;
  });
});
afterEach(() => {
  vi.restoreAllMocks();
  process.env = saved;
  process.exitCode = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const configFile = () => join(dir, 'xdg', 'jit', 'config.json');
const jit = (...args: string[]) => run(['node', 'jit', ...args]);

describe('jit configure', () => {
  it('saves the broker stack’s ApiUrl output, readable by its owner only, keeping what was saved before', async () => {
    // Prepare
    mkdirSync(join(dir, 'xdg', 'jit'), { recursive: true });
    writeFileSync(configFile(), JSON.stringify({ principal: 'arn:aws:iam::111122223333:user/me' }), {
      mode: 0o644,
    });
    cfn.on(DescribeStacksCommand, { StackName: 'JitBroker' }).resolves(
      stack([
        { OutputKey: 'GrantRoleArn', OutputValue: 'arn:aws:iam::1:role/x' },
        { OutputKey: API_URL_OUTPUT, OutputValue: API },
      ]),
    );
    // Act
    const code = await jit('configure', '--stack', 'JitBroker', '--region', 'eu-west-1');
    // Assess
    expect(code).toBe(EXIT.OK);
    expect(JSON.parse(readFileSync(configFile(), 'utf8'))).toEqual({
      principal: 'arn:aws:iam::111122223333:user/me',
      apiUrl: API,
      region: 'eu-west-1',
    });
    expect(statSync(configFile()).mode & 0o777).toBe(0o600);
    expect(cfn.commandCalls(DescribeStacksCommand)).toHaveLength(1);
    expect(stdout).toBe(`saved ${API} (stack JitBroker, eu-west-1) to ${configFile()}\n`);
  });

  it('creates the config directory 0700 and saves an --api URL as given, without CloudFormation', async () => {
    // Prepare
    const oldUmask = process.umask(0o000);
    try {
      // Act
      const code = await jit('--api', API, 'configure');
      // Assess
      expect(code).toBe(EXIT.OK);
      expect(JSON.parse(readFileSync(configFile(), 'utf8'))).toEqual({ apiUrl: API });
      expect(statSync(configFile()).mode & 0o777).toBe(0o600);
      expect(statSync(join(dir, 'xdg', 'jit')).mode & 0o777).toBe(0o700);
      expect(cfn.calls()).toHaveLength(0);
    } finally {
      process.umask(oldUmask);
    }
  });

  it('says so in one line when the stack does not exist, and saves nothing', async () => {
    // Prepare
    cfn
      .on(DescribeStacksCommand)
      .rejects(Object.assign(new Error('Stack with id Nope does not exist'), { name: 'ValidationError' }));
    // Act
    const code = await jit('configure', '--stack', 'Nope', '--region', 'eu-west-1');
    // Assess
    expect(code).toBe(EXIT.FAILURE);
    expect(stderr).toBe('jit: stack Nope not found in eu-west-1: check --stack and --region\n');
    expect(() => statSync(configFile())).toThrow();
  });

  it('refuses a stack without an ApiUrl output, and answers 6 when the caller may not read it', async () => {
    // Prepare
    cfn
      .on(DescribeStacksCommand, { StackName: 'Other' })
      .resolves(stack([]))
      .on(DescribeStacksCommand, { StackName: 'Locked' })
      .rejects(
        Object.assign(new Error('not authorized to perform: cloudformation:DescribeStacks'), {
          name: 'AccessDenied',
        }),
      );
    // Act
    const other = await jit('configure', '--stack', 'Other', '--region', 'eu-west-1');
    const otherErr = stderr;
    const locked = await jit('configure', '--stack', 'Locked', '--region', 'eu-west-1');
    // Assess
    expect(other).toBe(EXIT.FAILURE);
    expect(otherErr).toMatch(
      /^jit: stack Other \(UPDATE_COMPLETE\) has no ApiUrl output: is it the broker stack\?\n$/,
    );
    expect(locked).toBe(EXIT.UNAUTHORIZED);
    expect(() => statSync(configFile())).toThrow();
  });

  it('needs --stack or --api', async () => {
    // Act
    const code = await jit('configure');
    // Assess
    expect(code).toBe(EXIT.INVALID);
    expect(stderr).toContain('--stack <name> is required');
    expect(cfn.calls()).toHaveLength(0);
  });
});
