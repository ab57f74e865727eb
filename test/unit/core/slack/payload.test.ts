import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '#core/errors.ts';
import { parseInteraction } from '#core/slack/payload.ts';

function form(payload: unknown): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

function click(overrides: Record<string, unknown> = {}, action: Record<string, unknown> = {}) {
  return {
    type: 'block_actions',
    user: { id: 'U0BOB', username: 'bob', team_id: 'T0' },
    container: { type: 'message', channel_id: 'C0APPROVALS', message_ts: '1700000000.000100' },
    response_url: 'https://hooks.slack.com/actions/T0/1/abc',
    actions: [
      { type: 'button', action_id: 'jit_approve', block_id: 'jit_decision', value: 'req-0001', ...action },
    ],
    ...overrides,
  };
}

describe('parseInteraction', () => {
  it('reads the clicker, the decision, the request id and where to reply from a block_actions payload', () => {
    // Act
    const parsed = parseInteraction(form(click()));
    // Assess
    expect(parsed).toEqual({
      kind: 'click',
      slackUserId: 'U0BOB',
      decision: 'approve',
      requestId: 'req-0001',
      responseUrl: 'https://hooks.slack.com/actions/T0/1/abc',
      channelId: 'C0APPROVALS',
      messageTs: '1700000000.000100',
    });
  });

  it('reads a click on Deny as a denial', () => {
    // Act
    const parsed = parseInteraction(form(click({}, { action_id: 'jit_deny' })));
    // Assess
    expect(parsed).toMatchObject({ kind: 'click', decision: 'deny' });
  });

  it('ignores other interaction types and other apps’ actions', () => {
    // Act
    const view = parseInteraction(form(click({ type: 'view_submission' })));
    const other = parseInteraction(form(click({}, { action_id: 'someone_elses_button' })));
    // Assess
    expect(view).toMatchObject({ kind: 'ignored' });
    expect(other).toMatchObject({ kind: 'ignored' });
  });

  it.each([
    ['a body without payload', 'foo=bar'],
    ['a payload that is not JSON', 'payload=%7Bnot-json'],
    ['a payload without user', form(click({ user: undefined }))],
    ['a button value that is not a request id', form(click({}, { value: '{"taskToken":"x"}' }))],
    ['a button without value', form(click({}, { value: undefined }))],
  ])('refuses %s', (_name, body) => {
    // Act
    const parse = () => parseInteraction(body);
    // Assess
    expect(parse).toThrow(InvalidRequestError);
  });
});
