import { describe, expect, it, vi } from 'vitest';
import type { PolicyConfigInput } from '#core/policy/config.ts';
import { approvalWindowEndsAt } from '#core/policy/slack-config.ts';
import { decide } from '#core/requests/requests.ts';
import { SlackApprovals, SlackCardSync, withCardSync } from '#core/slack/approvals.ts';
import { BOB, fakeDeps, pendingRequest, testConfig } from '../../../support/fakes.ts';
import { headlineOf, MemorySlackCards, RecordingSlackApi } from '../../../support/slack-fakes.ts';

const SLACK: PolicyConfigInput['slack'] = {
  defaultChannel: 'C0APPROVALS',
  channels: { 'user-read': 'C0USERS' },
  users: { U0BOB: { approver: BOB } },
};

/** Fake deps whose Approvals port is Slack, on in-memory cards and a recording Slack API. */
function setup(slack: PolicyConfigInput['slack'] = SLACK) {
  const base = fakeDeps(testConfig({ slack }));
  const api = new RecordingSlackApi();
  const cards = new MemorySlackCards((id) => base.store.requests.has(id));
  const errors: string[] = [];
  const cardDeps = {
    config: base.deps.config,
    clock: base.clock,
    api,
    cards,
    onError: (message: string) => void errors.push(message),
  };
  const approvals = new SlackApprovals(cardDeps);
  const sync = new SlackCardSync(cardDeps, base.store);
  const deps = { ...base.deps, approvals, store: withCardSync(base.store, sync) };
  return { ...base, deps, api, cards, errors, approvals, sync };
}

describe('SlackApprovals', () => {
  it('posts the card to the rule’s channel when the request starts waiting, and keeps its ref', async () => {
    // Prepare
    const { deps, api, cards, store } = setup();
    // Act
    const id = await pendingRequest(deps);
    // Assess
    const pending = await store.get(id);
    expect(api.posts).toHaveLength(1);
    expect(api.posts[0]?.channel).toBe('C0APPROVALS');
    expect(headlineOf(api.posts[0]?.message ?? { text: '', blocks: [] })).toBe(
      'Access request: approval needed',
    );
    expect(await cards.get(id)).toEqual({
      ref: { channel: 'C0APPROVALS', ts: '1795341600.000001' },
      windowEndsAt: approvalWindowEndsAt(pending?.updatedAt ?? '', deps.config.approvalWindowSeconds),
      version: pending?.version,
    });
  });

  it('posts the card of a rule with its own channel there', async () => {
    // Prepare
    const { deps, api } = setup();
    // Act
    await pendingRequest(deps, {
      body: {
        kind: 'policy',
        target: 'arn:aws:iam::111122223333:user/svc-reports',
        permissions: [{ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::reports/*'] }],
        durationSeconds: 900,
        reason: 'read the reports',
      },
    });
    // Assess
    expect(api.posts.map((p) => p.channel)).toEqual(['C0USERS']);
  });

  it('posts nothing for a rule without a channel', async () => {
    // Prepare
    const { deps, api } = setup({ channels: { 'user-read': 'C0USERS' } });
    // Act
    await pendingRequest(deps);
    // Assess
    expect(api.posts).toEqual([]);
  });

  it('does not post twice when the approval step is retried', async () => {
    // Prepare
    const { deps, api, approvals, store } = setup();
    const id = await pendingRequest(deps);
    const pending = await store.get(id);
    if (!pending) throw new Error('no request');
    // Act
    await approvals.requestPending(pending);
    await approvals.requestPending(pending);
    // Assess
    expect(api.posts).toHaveLength(1);
  });

  it('posts once when two attempts run at the same time', async () => {
    // Prepare
    const { deps, api, approvals, store } = setup({ defaultChannel: 'C0LATER' });
    const id = await pendingRequest({ ...deps, approvals: { requestPending: async () => {} } });
    const pending = await store.get(id);
    if (!pending) throw new Error('no request');
    let open = () => {};
    api.gate = new Promise((resolve) => {
      open = resolve;
    });
    // Act
    const both = Promise.all([approvals.requestPending(pending), approvals.requestPending(pending)]);
    open();
    await both;
    // Assess
    expect(api.posts).toHaveLength(1);
  });

  it('never throws when Slack fails, gives the claim back, and a later attempt posts', async () => {
    // Prepare
    const { deps, api, approvals, store, errors, cards } = setup();
    api.failPosts = 1;
    const id = await pendingRequest(deps);
    const pending = await store.get(id);
    if (!pending) throw new Error('no request');
    const afterFailure = await cards.get(id);
    // Act
    await approvals.requestPending(pending);
    // Assess
    expect(errors).toEqual(['slack card post failed']);
    expect(afterFailure).toBeUndefined();
    expect(api.posts).toHaveLength(1);
  });

  it('lets a claim whose poster died block other posters only until its lease ends', async () => {
    // Prepare
    const { deps, api, approvals, store, cards, clock } = setup();
    const id = await pendingRequest({ ...deps, approvals: { requestPending: async () => {} } });
    const pending = await store.get(id);
    if (!pending) throw new Error('no request');
    await cards.claim(id, {
      claimId: 'dead-poster',
      claimedAt: clock.now().toISOString(),
      windowEndsAt: '2026-11-22T11:00:00Z',
      staleBefore: '1970-01-01T00:00:00Z',
    });
    // Act
    await approvals.requestPending(pending);
    const whileLeased = api.posts.length;
    clock.advance(121);
    await approvals.requestPending(pending);
    // Assess
    expect(whileLeased).toBe(0);
    expect(api.posts).toHaveLength(1);
  });
});

describe('SlackCardSync and withCardSync', () => {
  it('updates the card after every status change written through the store', async () => {
    // Prepare
    const { deps, api } = setup();
    const id = await pendingRequest(deps);
    // Act
    await decide(deps, BOB, id, 'approve');
    // Assess
    expect(api.updates.map((u) => headlineOf(u.message))).toEqual(['Access request: approved']);
    expect(api.updates[0]?.ref).toEqual({ channel: 'C0APPROVALS', ts: '1795341600.000001' });
  });

  it('does not render the same version twice (an older render never overwrites a newer one)', async () => {
    // Prepare
    const { deps, api, sync } = setup();
    const id = await pendingRequest(deps);
    await decide(deps, BOB, id, 'approve');
    // Act
    await sync.refresh(id);
    // Assess
    expect(api.updates).toHaveLength(1);
  });

  it('keeps the write when Slack fails, and reports the failure', async () => {
    // Prepare
    const { deps, api, errors, store } = setup();
    const id = await pendingRequest(deps);
    api.failUpdates = 1;
    // Act
    const result = await decide(deps, BOB, id, 'approve');
    // Assess
    expect(result.status).toBe('APPROVED');
    expect((await store.get(id))?.status).toBe('APPROVED');
    expect(errors).toEqual(['slack card update failed']);
  });

  it('refreshes nothing for a request without a card', async () => {
    // Prepare
    const { deps, api } = setup({ channels: {} });
    const id = await pendingRequest(deps);
    // Act
    await decide(deps, BOB, id, 'approve');
    // Assess
    expect(api.posts).toEqual([]);
    expect(api.updates).toEqual([]);
  });

  it('passes every other store method through to the wrapped store', async () => {
    // Prepare
    const { deps, store } = setup();
    const id = await pendingRequest(deps);
    const spy = vi.spyOn(store, 'events');
    // Act
    const events = await deps.store.events(id);
    // Assess
    expect(spy).toHaveBeenCalledWith(id);
    expect(events.map((e) => e.to)).toEqual(['REQUESTED', 'PENDING_APPROVAL']);
  });
});
