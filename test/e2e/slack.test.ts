import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeSlackMessage } from '../../local/fakes/slack.ts';
import type { LocalBroker } from '../../local/runtime.ts';
import { clickBody, sendSlackClick, signedHeaders } from '../../local/slack-click.ts';
import {
  APPROVER,
  call,
  DEV,
  e2eConfig,
  readRequest,
  startBroker,
  statuses,
  stored,
  submit,
  waitForStatus,
} from './harness.ts';

const CHANNEL = 'C0APPROVALS';

/** Bob and Carol approve from Slack; Alice requests (and is mapped, so she cannot approve her own). */
function slackConfig() {
  return e2eConfig({
    slack: {
      defaultChannel: CHANNEL,
      users: {
        U0BOB: { approver: APPROVER('bob') },
        U0CAROL: { approver: APPROVER('carol') },
        U0ALICE: { requester: [DEV('alice')], approver: APPROVER('alice-admin') },
      },
    },
  });
}

/** Polls until `check` returns a value (the card reflects a state), failing after `timeoutMs`. */
async function eventually<T>(what: string, check: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function headline(message: { blocks: unknown[] }): string {
  const header = message.blocks.find((b) => (b as { type?: string }).type === 'header') as
    | { text: { text: string } }
    | undefined;
  return header?.text.text ?? '';
}

function cardOf(broker: LocalBroker, id: string): FakeSlackMessage | undefined {
  return broker.slack?.fake.messageFor(id);
}

describe('local runtime: Slack approvals', () => {
  let broker: LocalBroker;
  beforeAll(async () => {
    broker = await startBroker(slackConfig());
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('posts a card, takes a signed click, and keeps the card current through GRANTED to REVOKED', async () => {
    // Act
    const id = await submit(broker, DEV('alice'), readRequest({ durationSeconds: 2 }));
    const posted = await eventually('the card', () => cardOf(broker, id));
    const click = await sendSlackClick({ brokerUrl: broker.url, requestId: id, slackUserId: 'U0BOB' });
    const granted = await waitForStatus(broker, id, 'GRANTED');
    await eventually('the GRANTED card', () => (headline(posted) === 'Access granted' ? true : undefined));
    const grantedCard = JSON.stringify(posted.blocks);
    await waitForStatus(broker, id, 'REVOKED');
    await eventually('the REVOKED card', () => (headline(posted) === 'Access revoked' ? true : undefined));
    // Assess
    expect(posted.channel).toBe(CHANNEL);
    expect(posted.history[0]?.blocks).toContainEqual(
      expect.objectContaining({
        type: 'actions',
        elements: [
          expect.objectContaining({ action_id: 'jit_approve', value: id }),
          expect.objectContaining({ action_id: 'jit_deny', value: id, confirm: expect.any(Object) }),
        ],
      }),
    );
    expect(JSON.stringify(posted.history)).not.toContain('local-token-');
    expect(click).toMatchObject({ status: 200, replies: [] });
    expect(granted.approvals.map((a) => a.approver)).toEqual([APPROVER('bob')]);
    expect(grantedCard).toContain('<@U0BOB>');
    expect(grantedCard).toContain(`<!date^${Math.floor(Date.parse(granted.expiresAt ?? '') / 1000)}^`);
    expect(posted.history.map(headline)).toEqual([
      'Access request: approval needed',
      'Access request: approved',
      'Access granted',
      'Access revoked',
    ]);
    expect(JSON.stringify(posted.blocks)).not.toContain('jit_approve');
    expect(broker.slack?.fake.messages.filter((m) => JSON.stringify(m.history[0]).includes(id))).toHaveLength(
      1,
    );
    expect(await statuses(broker, id)).toEqual([
      'REQUESTED',
      'PENDING_APPROVAL',
      'APPROVED',
      'GRANTED',
      'REVOKED',
    ]);
  });

  it('refuses a forged click with 401 and leaves the request pending', async () => {
    // Prepare
    const id = await submit(broker, DEV('alice'), readRequest());
    await eventually('the card', () => cardOf(broker, id));
    const body = clickBody({ requestId: id, slackUserId: 'U0BOB', action: 'approve' });
    // Act
    const res = await fetch(`${broker.url}/slack/interactions`, {
      method: 'POST',
      headers: signedHeaders('not-the-signing-secret', body, Math.floor(Date.now() / 1000)),
      body,
    });
    // Assess
    expect(res.status).toBe(401);
    expect((await stored(broker, id)).status).toBe('PENDING_APPROVAL');
    expect((await stored(broker, id)).approvals).toEqual([]);
  });

  it('tells the requester they cannot approve their own request, and the card stays pending', async () => {
    // Prepare
    const id = await submit(broker, DEV('alice'), readRequest());
    const card = await eventually('the card', () => cardOf(broker, id));
    // Act
    const click = await sendSlackClick({ brokerUrl: broker.url, requestId: id, slackUserId: 'U0ALICE' });
    // Assess
    expect(click.status).toBe(200);
    expect(click.replies).toEqual([expect.stringContaining('someone else has to decide')]);
    expect((await stored(broker, id)).status).toBe('PENDING_APPROVAL');
    expect(card.history).toHaveLength(1);
  });

  it('denies from Slack: the loser of a later approve is told, and the card shows who denied', async () => {
    // Prepare
    const id = await submit(broker, DEV('alice'), readRequest());
    const card = await eventually('the card', () => cardOf(broker, id));
    // Act
    const deny = await sendSlackClick({
      brokerUrl: broker.url,
      requestId: id,
      slackUserId: 'U0CAROL',
      action: 'deny',
    });
    const late = await sendSlackClick({ brokerUrl: broker.url, requestId: id, slackUserId: 'U0BOB' });
    // Assess
    expect(deny).toMatchObject({ status: 200, replies: [] });
    expect(late.replies).toEqual([expect.stringContaining('already denied')]);
    expect((await stored(broker, id)).status).toBe('DENIED');
    expect(headline(card)).toBe('Access request: denied');
    expect(JSON.stringify(card.blocks)).toContain('<@U0CAROL>');
  });

  it('updates the card when an approver decides through the API instead', async () => {
    // Prepare
    const id = await submit(broker, DEV('alice'), readRequest());
    const card = await eventually('the card', () => cardOf(broker, id));
    // Act
    const deny = await call(broker, APPROVER('carol'), 'POST', `/requests/${id}/deny`, { reason: 'not now' });
    await eventually('the denied card', () =>
      headline(card) === 'Access request: denied' ? true : undefined,
    );
    // Assess
    expect(deny.status).toBe(200);
    expect(JSON.stringify(card.blocks)).toContain('not now');
  });

  it('posts one card even when the approval step is invoked again for the same request', async () => {
    // Prepare
    const id = await submit(broker, DEV('alice'), readRequest());
    await eventually('the card', () => cardOf(broker, id));
    // Act
    await broker.deps.approvals.requestPending(await stored(broker, id));
    await broker.deps.approvals.requestPending(await stored(broker, id));
    // Assess
    const cards = broker.slack?.fake.messages.filter((m) => JSON.stringify(m.history[0]).includes(id));
    expect(cards).toHaveLength(1);
  });
});

describe('local runtime: Slack click after the approval window', () => {
  let broker: LocalBroker;
  beforeAll(async () => {
    broker = await startBroker({ ...slackConfig(), approvalWindowSeconds: 2 });
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('changes nothing and tells the clicker the window has closed', async () => {
    // Prepare
    const id = await submit(broker, DEV('alice'), readRequest());
    const card = await eventually('the card', () => cardOf(broker, id));
    await waitForStatus(broker, id, 'APPROVAL_EXPIRED', 15_000);
    // Act
    const click = await sendSlackClick({ brokerUrl: broker.url, requestId: id, slackUserId: 'U0BOB' });
    // Assess
    expect(click.status).toBe(200);
    expect(click.replies).toEqual([expect.stringContaining('approval window has closed')]);
    expect(await statuses(broker, id)).toEqual(['REQUESTED', 'PENDING_APPROVAL', 'APPROVAL_EXPIRED']);
    await eventually('the expired card', () =>
      headline(card) === 'Access request: expired' ? true : undefined,
    );
  });
});
