import { describe, expect, it } from 'vitest';
import { bashCompletion } from '../../../../cli/commands/completion.ts';
import { buildProgram } from '../../../../cli/program.ts';

describe('bashCompletion', () => {
  it('completes the break-glass and review commands and their options', () => {
    // Act
    const script = bashCompletion(buildProgram());
    // Assess
    expect(script).toMatch(/compgen -W "[^"]*\bbreak-glass\b[^"]*\breview\b/);
    expect(script).toMatch(/ {4}break-glass\) opts="[^"]*--incident --reason-code /);
    expect(script).toMatch(/ {4}review\) opts="--verdict --notes /);
    expect(script).toContain(
      '--verdict) COMPREPLY=($(compgen -W "appropriate misuse" -- "$cur")); return ;;',
    );
  });

  it('has one case per option with choices, shared by several commands', () => {
    // Act
    const script = bashCompletion(buildProgram());
    // Assess
    expect(script.match(/ {4}--kind\) COMPREPLY/g)).toHaveLength(1);
  });
});
