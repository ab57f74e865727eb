import { createHmac, timingSafeEqual } from 'node:crypto';

/** Slack refuses nothing older; neither do we (replay window). */
export const MAX_SIGNATURE_AGE_SECONDS = 300;

const TIMESTAMP_RE = /^\d{1,12}$/;
const SIGNATURE_RE = /^v0=[0-9a-fA-F]{64}$/;

/** Why a request's signature was not accepted (for the log; the caller only ever sees 401). */
export type SignatureProblem = 'missing' | 'malformed' | 'stale' | 'mismatch' | 'unconfigured';

/** Outcome of {@link verifySlackSignature}. */
export type SignatureCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly problem: SignatureProblem };

/** The `X-Slack-Signature` value for a body: `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}`. */
export function slackSignature(signingSecret: string, timestamp: string, body: Uint8Array | string): string {
  const mac = createHmac('sha256', signingSecret).update(`v0:${timestamp}:`).update(body).digest('hex');
  return `v0=${mac}`;
}

/** What {@link verifySlackSignature} needs: the raw body bytes exactly as Slack sent them. */
export interface SignedRequest {
  readonly signingSecret: string;
  readonly timestamp: string | undefined;
  readonly signature: string | undefined;
  readonly body: Uint8Array;
  readonly now: Date;
}

/**
 * Slack request signing (v0). Runs before the body is parsed: a request with missing or malformed headers,
 * a timestamp more than five minutes away from now (replay), or a signature that is not the HMAC of this
 * exact body under our secret is refused. The comparison is constant-time over equal-length buffers.
 */
export function verifySlackSignature(req: SignedRequest): SignatureCheck {
  // An empty secret would make every signature computable by anyone.
  if (req.signingSecret.length === 0) return { ok: false, problem: 'unconfigured' };
  if (!req.timestamp || !req.signature) return { ok: false, problem: 'missing' };
  if (!TIMESTAMP_RE.test(req.timestamp) || !SIGNATURE_RE.test(req.signature)) {
    return { ok: false, problem: 'malformed' };
  }
  const age = req.now.getTime() / 1000 - Number(req.timestamp);
  if (Math.abs(age) > MAX_SIGNATURE_AGE_SECONDS) return { ok: false, problem: 'stale' };
  const expected = Buffer.from(slackSignature(req.signingSecret, req.timestamp, req.body), 'utf8');
  const given = Buffer.from(req.signature.toLowerCase(), 'utf8');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { ok: false, problem: 'mismatch' };
  }
  return { ok: true };
}
