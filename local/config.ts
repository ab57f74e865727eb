/**
 * The environment the local runtime and its command-line entries read: the one module in `local/` that
 * reads `process.env` (as `lambdas/runtime/config.ts` is for Lambda).
 */

/** `$PORT`, as given: the local broker's port on 127.0.0.1 for `npm start` and `npm run slack:click`. */
export function envPort(): string | undefined {
  return process.env.PORT;
}

/** `$JIT_SLACK_SIGNING_SECRET` when set and not empty: the secret local Slack clicks are signed with. */
export function envSlackSigningSecret(): string | undefined {
  return process.env.JIT_SLACK_SIGNING_SECRET || undefined;
}
