import { describe, expect, it } from 'vitest';
import type { AccessRequest } from '#core/model.ts';
import { buildRequestCard, escapeMrkdwn } from '#core/slack/card.ts';
import { ACCOUNT, ALICE, arn, BOB, CAROL, testConfig } from '../../../support/fakes.ts';

// biome-ignore lint/suspicious/noExplicitAny: Block Kit JSON is untyped.
type Json = any;

const config = testConfig(
  {
    slack: {
      defaultChannel: 'C0APPROVALS',
      users: { U0ALICE: { requester: [ALICE] }, U0BOB: { approver: BOB } },
    },
  },
  2,
);
const WINDOW_ENDS = '2026-11-22T10:59:50.000Z';
const TOKEN = 'AQCEAAAAKgAAAA-secret-task-token';

function request(overrides: Partial<AccessRequest> = {}): AccessRequest {
  return {
    id: 'req-0042',
    status: 'PENDING_APPROVAL',
    version: 2,
    lastHash: 'h',
    requester: ALICE,
    target: arn.role('app-reader'),
    targetType: 'role',
    kind: 'policy',
    ruleId: 'app-read',
    permissions: [
      {
        actions: ['s3:GetObject', 's3:ListBucket'],
        resources: ['arn:aws:s3:::app-data', 'arn:aws:s3:::app-data/*'],
      },
      {
        actions: ['dynamodb:GetItem'],
        resources: [`arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/app-orders`],
      },
    ],
    durationSeconds: 900,
    reason: 'INC-42: export failed <!channel> & retry',
    ticket: 'INC-42',
    approvals: [],
    createdAt: '2026-11-22T09:59:58.000Z',
    updatedAt: '2026-11-22T10:00:00.000Z',
    taskToken: TOKEN,
    ...overrides,
  };
}

function blocksOf(r: AccessRequest, extra: Partial<Parameters<typeof buildRequestCard>[0]> = {}): Json[] {
  return buildRequestCard({ request: r, config, windowEndsAt: WINDOW_ENDS, ...extra }).blocks as Json[];
}

function texts(blocks: Json[]): string {
  return JSON.stringify(blocks);
}

/** Every `value` anywhere in the card. */
function values(node: Json): unknown[] {
  if (Array.isArray(node)) return node.flatMap(values);
  if (node && typeof node === 'object') {
    return Object.entries(node).flatMap(([k, v]) => (k === 'value' ? [v] : values(v)));
  }
  return [];
}

describe('buildRequestCard', () => {
  it('shows requester, target, duration, ticket, approvals and the approval deadline as fields', () => {
    // Act
    const blocks = blocksOf(request());
    // Assess
    const fields = blocks.find((b) => b.type === 'section' && b.fields)?.fields.map((f: Json) => f.text);
    expect(blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: 'Access request: approval needed' },
    });
    expect(fields).toEqual([
      `*Requester*\n<@U0ALICE> \`${ALICE}\``,
      `*Target*\n\`${arn.role('app-reader')}\` (role)`,
      '*Duration*\n15 min',
      '*Ticket*\n`INC-42`',
      '*Rule*\n`app-read` · policy',
      '*Approvals*\n0 of 2',
      `*Approve before*\n<!date^${Date.parse(WINDOW_ENDS) / 1000}^{date_short_pretty} {time_secs}|${WINDOW_ENDS}>`,
    ]);
  });

  it('lists every action × resource of every permission block', () => {
    // Act
    const all = texts(blocksOf(request()));
    // Assess
    expect(all).toContain('*Permissions* (5 action × resource)');
    for (const line of [
      '• `s3:GetObject` on `arn:aws:s3:::app-data`',
      '• `s3:GetObject` on `arn:aws:s3:::app-data/*`',
      '• `s3:ListBucket` on `arn:aws:s3:::app-data`',
      '• `s3:ListBucket` on `arn:aws:s3:::app-data/*`',
      `• \`dynamodb:GetItem\` on \`arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/app-orders\``,
    ]) {
      expect(all).toContain(JSON.stringify(line).slice(1, -1));
    }
  });

  it('quotes the reason with mrkdwn escaped, so a reason cannot ping a channel or inject a link', () => {
    // Act
    const reason = blocksOf(request()).find((b) => b.text?.text?.startsWith('*Reason*'));
    // Assess
    expect(reason.text.text).toBe('*Reason*\n>INC-42: export failed &lt;!channel&gt; &amp; retry');
  });

  it('offers Approve and Deny (with a confirm dialog) whose value is the request id and nothing else', () => {
    // Act
    const blocks = blocksOf(request());
    // Assess
    const actions = blocks.find((b) => b.type === 'actions');
    expect(actions.elements).toEqual([
      {
        type: 'button',
        action_id: 'jit_approve',
        text: { type: 'plain_text', text: 'Approve' },
        style: 'primary',
        value: 'req-0042',
      },
      expect.objectContaining({
        action_id: 'jit_deny',
        style: 'danger',
        value: 'req-0042',
        confirm: {
          title: { type: 'plain_text', text: 'Deny this request?' },
          text: { type: 'mrkdwn', text: expect.any(String) },
          confirm: { type: 'plain_text', text: 'Deny' },
          deny: { type: 'plain_text', text: 'Keep pending' },
          style: 'danger',
        },
      }),
    ]);
    expect(values(blocks)).toEqual(['req-0042', 'req-0042']);
  });

  it('never carries the task token', () => {
    // Act
    const card = buildRequestCard({ request: request(), config, windowEndsAt: WINDOW_ENDS });
    // Assess
    expect(JSON.stringify(card)).not.toContain(TOKEN);
  });

  it('shows progress towards the quorum with who approved so far', () => {
    // Act
    const all = texts(blocksOf(request({ approvals: [{ approver: BOB, at: '2026-11-22T10:01:00Z' }] })));
    // Assess
    expect(all).toContain(JSON.stringify(`*Approvals*\n1 of 2: <@U0BOB> \`${BOB}\``).slice(1, -1));
  });

  it('replaces the buttons with who approved once approved', () => {
    // Act
    const blocks = blocksOf(
      request({
        status: 'APPROVED',
        approvals: [
          { approver: BOB, at: '2026-11-22T10:01:00Z' },
          { approver: CAROL, at: '2026-11-22T10:02:00Z' },
        ],
      }),
    );
    // Assess
    expect(blocks.some((b) => b.type === 'actions')).toBe(false);
    expect(blocks.at(-1).text.text).toBe(
      `:white_check_mark: *Approved* by <@U0BOB> \`${BOB}\`, \`${CAROL}\`. Granting access…`,
    );
  });

  it('shows who denied and why', () => {
    // Act
    const blocks = blocksOf(request({ status: 'DENIED' }), {
      lastEvent: { to: 'DENIED', actor: BOB, at: '2026-11-22T10:01:00Z', details: { reason: 'not <today>' } },
    });
    // Assess
    expect(blocks[0].text.text).toBe('Access request: denied');
    expect(blocks.at(-1).text.text).toBe(`:no_entry: *Denied* by <@U0BOB> \`${BOB}\`: not &lt;today&gt;`);
  });

  it('shows until when access is granted, then that it was revoked', () => {
    // Prepare
    const expiresAt = '2026-11-22T10:16:00Z';
    const approvals = [{ approver: BOB, at: '2026-11-22T10:01:00Z' }];
    // Act
    const granted = blocksOf(request({ status: 'GRANTED', expiresAt, approvals }));
    const revoked = blocksOf(request({ status: 'REVOKED', expiresAt, approvals }), {
      lastEvent: { to: 'REVOKED', actor: 'system:expiry', at: expiresAt, details: { reason: 'expired' } },
    });
    // Assess
    expect(granted[0].text.text).toBe('Access granted');
    expect(granted.at(-1).text.text).toContain(`Ends <!date^${Date.parse(expiresAt) / 1000}^`);
    expect(revoked[0].text.text).toBe('Access revoked');
    expect(revoked.at(-1).text.text).toBe(
      `:lock: *Revoked* <!date^${Date.parse(expiresAt) / 1000}^{date_short_pretty} {time_secs}|${expiresAt}>: expired`,
    );
  });

  it('stays within Block Kit limits for a request with hundreds of action × resource pairs', () => {
    // Prepare
    const actions = Array.from({ length: 20 }, (_, i) => `s3:Get${'Object'.repeat(3)}${i}`);
    const resources = Array.from({ length: 30 }, (_, i) => `arn:aws:s3:::app-data/${'deep/'.repeat(10)}${i}`);
    // Act
    const blocks = blocksOf(request({ permissions: [{ actions, resources }] }));
    // Assess
    expect(blocks.length).toBeLessThanOrEqual(50);
    for (const b of blocks)
      if (b.text?.type === 'mrkdwn') expect(b.text.text.length).toBeLessThanOrEqual(3000);
    expect(texts(blocks).length).toBeLessThan(16_000);
    expect(blocks.at(-3).text.text).toMatch(
      /^…and \d+ more: see `GET \/requests\/req-0042` for the full list\.$/,
    );
  });
});

describe('escapeMrkdwn', () => {
  it('escapes the three control characters Slack defines', () => {
    // Act / Assess
    expect(escapeMrkdwn('a & <b> c')).toBe('a &amp; &lt;b&gt; c');
  });
});

describe('buildRequestCard for an extension', () => {
  it('names the grant it extends and its reason code', () => {
    // Prepare
    const child = request({ extends: 'req-0041', reasonCode: 'work-not-finished' });
    // Act
    const blocks = blocksOf(child);
    const plain = blocksOf(request());
    // Assess
    expect(blocks[0].text.text).toBe('Extension · Access request: approval needed');
    expect(texts(blocks)).toContain('*Extends*\\n`req-0041` · `work-not-finished`');
    expect(texts(plain)).not.toContain('Extends');
  });
});

describe('buildRequestCard: break-glass and first use', () => {
  it('heads a break-glass card and names its incident and reason code', () => {
    // Prepare
    const r = request({
      status: 'GRANTED',
      expiresAt: '2026-11-22T11:00:00Z',
      breakGlass: { incident: 'INC-1234', reviews: [] },
      reasonCode: 'outage',
    });
    // Act
    const text = texts(blocksOf(r));
    // Assess
    expect(text).toContain('BREAK-GLASS');
    expect(text).toContain('INC-1234');
    expect(text).toContain('outage');
  });

  it('shows when and from where the grant was first used', () => {
    // Prepare
    const r = request({
      status: 'GRANTED',
      expiresAt: '2026-11-22T11:00:00Z',
      firstUsedAt: '2026-11-22T10:02:00Z',
      firstUsedFrom: '203.0.113.7',
    });
    // Act
    const text = texts(blocksOf(r));
    const before = texts(blocksOf(request({ status: 'GRANTED', expiresAt: '2026-11-22T11:00:00Z' })));
    // Assess
    expect(text).toContain('First used');
    expect(text).toContain('203.0.113.7');
    expect(before).not.toContain('First used');
  });
});
