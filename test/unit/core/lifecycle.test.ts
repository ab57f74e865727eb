import { describe, expect, it } from 'vitest';
import { HOLDS_GRANT, isLegalTransition, isTerminal, STATUSES, type Status } from '#core/lifecycle.ts';

/**
 * The legal moves of DESIGN.md "Request lifecycle", plus the two the code adds on purpose:
 * REQUESTED → CANCELLED (cancel before the approval step ran) and PENDING_APPROVAL → PENDING_APPROVAL
 * (a vote below the quorum, logged as its own event).
 */
const LEGAL: readonly (readonly [Status, Status])[] = [
  ['REQUESTED', 'REJECTED'],
  ['REQUESTED', 'PENDING_APPROVAL'],
  ['REQUESTED', 'APPROVED'],
  ['REQUESTED', 'CANCELLED'],
  ['PENDING_APPROVAL', 'PENDING_APPROVAL'],
  ['PENDING_APPROVAL', 'APPROVED'],
  ['PENDING_APPROVAL', 'DENIED'],
  ['PENDING_APPROVAL', 'APPROVAL_EXPIRED'],
  ['PENDING_APPROVAL', 'CANCELLED'],
  ['APPROVED', 'GRANTED'],
  ['APPROVED', 'GRANT_FAILED'],
  ['GRANTED', 'REVOKED'],
  ['GRANTED', 'REVOKE_FAILED'],
  ['REVOKE_FAILED', 'REVOKED'],
];

/** Same-status notes of credentials grants: credentials collected, session-deny removed after expiry. */
const NOTES: readonly (readonly [Status, Status])[] = [
  ['GRANTED', 'GRANTED'],
  // First use seen while a failed revoke waits for the sweeper.
  ['REVOKE_FAILED', 'REVOKE_FAILED'],
  ['REVOKED', 'REVOKED'],
];

const TERMINAL: readonly Status[] = [
  'REJECTED',
  'DENIED',
  'APPROVAL_EXPIRED',
  'CANCELLED',
  'GRANT_FAILED',
  'REVOKED',
];

const isListed = (from: Status, to: Status) => [...LEGAL, ...NOTES].some(([f, t]) => f === from && t === to);
const allPairs = STATUSES.flatMap((from) => STATUSES.map((to) => [from, to] as const));

describe('lifecycle', () => {
  it('knows exactly the eleven statuses of the design', () => {
    // Assess
    expect([...STATUSES].sort()).toEqual(
      [
        'REQUESTED',
        'REJECTED',
        'PENDING_APPROVAL',
        'APPROVED',
        'DENIED',
        'APPROVAL_EXPIRED',
        'CANCELLED',
        'GRANTED',
        'GRANT_FAILED',
        'REVOKED',
        'REVOKE_FAILED',
      ].sort(),
    );
  });

  it.each([...LEGAL, ...NOTES])('allows %s → %s', (from, to) => {
    // Act
    const legal = isLegalTransition(from, to);
    // Assess
    expect(legal).toBe(true);
  });

  it.each(allPairs.filter(([from, to]) => !isListed(from, to)))('refuses %s → %s', (from, to) => {
    // Act
    const legal = isLegalTransition(from, to);
    // Assess
    expect(legal).toBe(false);
  });

  it.each([
    ['APPROVED', 'REQUESTED'],
    ['GRANTED', 'APPROVED'],
    ['REVOKED', 'GRANTED'],
    ['DENIED', 'APPROVED'],
    ['APPROVAL_EXPIRED', 'APPROVED'],
    ['REQUESTED', 'GRANTED'],
    ['PENDING_APPROVAL', 'GRANTED'],
    ['GRANT_FAILED', 'GRANTED'],
  ] as const)('refuses the shortcut or reversal %s → %s', (from, to) => {
    // Act
    const legal = isLegalTransition(from, to);
    // Assess
    expect(legal).toBe(false);
  });

  it.each(STATUSES.map((s) => [s, TERMINAL.includes(s)] as const))(
    'isTerminal(%s) is %s',
    (status, terminal) => {
      // Act
      const result = isTerminal(status);
      // Assess
      expect(result).toBe(terminal);
      if (terminal)
        expect(STATUSES.filter((to) => to !== status && isLegalTransition(status, to))).toEqual([]);
    },
  );

  it('lists the statuses in which a policy may be attached', () => {
    // Assess
    expect([...HOLDS_GRANT].sort()).toEqual(['GRANTED', 'REVOKE_FAILED']);
  });
});
