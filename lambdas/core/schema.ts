import type * as z from 'zod/mini';
import type { FieldIssue } from './errors.ts';

/** Formats a zod path as `permissions[0].actions[1]`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(body)';
}

function describe(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `must be ${issue.expected === 'array' || issue.expected === 'object' ? 'an' : 'a'} ${issue.expected}`;
    case 'too_small':
      return issue.origin === 'string'
        ? `must be at least ${issue.minimum} characters`
        : issue.origin === 'array'
          ? `must have at least ${issue.minimum} item(s)`
          : `must be ${issue.inclusive ? '>=' : '>'} ${issue.minimum}`;
    case 'too_big':
      return issue.origin === 'string'
        ? `must be at most ${issue.maximum} characters`
        : issue.origin === 'array'
          ? `must have at most ${issue.maximum} item(s)`
          : `must be ${issue.inclusive ? '<=' : '<'} ${issue.maximum}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_format':
      return `has an invalid format (${issue.format})`;
    case 'invalid_union':
      return 'does not match any allowed form';
    default:
      return issue.message;
  }
}

/** Turns zod issues into our field issues; an unknown key becomes an issue on that key's own path. */
export function toFieldIssues(issues: readonly z.core.$ZodIssue[]): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        out.push({ field: fieldPath([...issue.path, key]), message: 'is not a known field' });
      }
    } else {
      out.push({ field: fieldPath(issue.path), message: describe(issue) });
    }
  }
  return out;
}

/** Parses `data` with `schema`, or throws `makeError(issues)` naming each field at fault. */
export function parseWith<T extends z.ZodMiniType>(
  schema: T,
  data: unknown,
  makeError: (issues: FieldIssue[]) => Error,
): z.output<T> {
  const result = schema.safeParse(data);
  if (!result.success) throw makeError(toFieldIssues(result.error.issues));
  return result.data;
}
