import { describe, expect, it } from 'vitest';
import { CliError, EXIT, errorFromResponse, exitCodeForStatus } from '../../../cli/errors.ts';

const contractError = (code: string, message: string, details?: { field: string; message: string }[]) => ({
  error: { code, message, ...(details ? { details } : {}) },
});

describe('errorFromResponse', () => {
  it('maps 400 to exit 5 with the first field at fault and its message', () => {
    // Prepare
    const body = contractError('InvalidRequest', 'durationSeconds must lie between 60 and 3600 seconds', [
      { field: 'durationSeconds', message: 'must lie between 60 and 3600 seconds' },
      { field: 'reason', message: 'is too short' },
    ]);
    // Act
    const error = errorFromResponse(400, body);
    // Assess
    expect(error).toBeInstanceOf(CliError);
    expect(error.exitCode).toBe(EXIT.INVALID);
    expect(error.message).toBe('InvalidRequest: durationSeconds must lie between 60 and 3600 seconds');
  });

  it.each([401, 403])('maps %i to exit 6 (not authorized)', (status) => {
    // Act
    const error = errorFromResponse(status, contractError('NotApprover', 'caller is not an approver'));
    // Assess
    expect(error.exitCode).toBe(EXIT.UNAUTHORIZED);
    expect(error.message).toBe('NotApprover: caller is not an approver');
  });

  it.each([404, 409, 410, 500, 503])('maps %i to exit 1 with the broker message', (status) => {
    // Act
    const error = errorFromResponse(
      status,
      contractError('NotPending', 'request is GRANTED, not PENDING_APPROVAL'),
    );
    // Assess
    expect(error.exitCode).toBe(EXIT.FAILURE);
    expect(error.message).toBe('NotPending: request is GRANTED, not PENDING_APPROVAL');
  });

  it("reads API Gateway's own refusals ({message}) and keeps any error on one line", () => {
    // Act
    const gateway = errorFromResponse(403, {
      message: 'The security token included in the request is\ninvalid.',
    });
    const text = errorFromResponse(502, '<html>\n<body>Bad gateway</body>\n</html>');
    // Assess
    expect(gateway.exitCode).toBe(EXIT.UNAUTHORIZED);
    expect(gateway.message).toBe('HTTP 403: The security token included in the request is invalid.');
    expect(text.message).toBe('HTTP 502: <html> <body>Bad gateway</body> </html>');
  });
});

describe('exitCodeForStatus', () => {
  it.each([
    ['GRANTED', EXIT.OK],
    ['DENIED', EXIT.DENIED],
    ['REJECTED', EXIT.DENIED],
    ['APPROVAL_EXPIRED', EXIT.ENDED],
    ['REVOKED', EXIT.ENDED],
    ['CANCELLED', EXIT.ENDED],
    ['GRANT_FAILED', EXIT.ENDED],
    ['REVOKE_FAILED', EXIT.FAILURE],
    ['PENDING_APPROVAL', undefined],
  ])('gives %s exit %s', (status, code) => {
    // Act
    const exit = exitCodeForStatus(status);
    // Assess
    expect(exit).toBe(code);
  });
});
