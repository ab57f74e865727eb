/**
 * The grant kinds the broker knows, by name: the one declaration of the `kind` enum that the request
 * schema, the config schema and the model use. Each name has one module in `registry.ts`.
 */
export const GRANT_KINDS = ['policy', 'credentials'] as const;

/** How access is handed out: an inline policy on the target, or STS credentials on the target role. */
export type GrantKind = (typeof GRANT_KINDS)[number];
