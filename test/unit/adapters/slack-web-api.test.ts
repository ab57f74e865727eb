import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SlackApiError, SlackWebApi } from '#adapters/slack-web-api.ts';

const TOKEN = 'xoxb-1234-secret-token';
const MESSAGE = { text: 'fallback', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'hi' } }] };

describe('SlackWebApi', () => {
  const fetchMock = vi.fn<typeof fetch>();
  const api = new SlackWebApi({ token: async () => TOKEN });

  beforeEach(() => {
    fetchMock.mockReset();
    vi.stubGlobal('fetch', fetchMock);
  });

  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('posts a message with the bot token as Bearer and returns where it lives', async () => {
    // Prepare
    fetchMock.mockResolvedValue(Response.json({ ok: true, channel: 'C0APPROVALS', ts: '1795341600.000100' }));
    // Act
    const ref = await api.postMessage('C0APPROVALS', MESSAGE);
    // Assess
    expect(ref).toEqual({ channel: 'C0APPROVALS', ts: '1795341600.000100' });
    const [url, init] = fetchMock.mock.calls[0] ?? [];
    expect(url).toBe('https://slack.com/api/chat.postMessage');
    expect(init?.method).toBe('POST');
    expect(init?.headers).toMatchObject({
      authorization: `Bearer ${TOKEN}`,
      'content-type': 'application/json; charset=utf-8',
    });
    expect(JSON.parse(String(init?.body))).toEqual({ channel: 'C0APPROVALS', ...MESSAGE });
  });

  it('updates a message by channel and ts', async () => {
    // Prepare
    fetchMock.mockResolvedValue(Response.json({ ok: true, channel: 'C0APPROVALS', ts: '1.2' }));
    // Act
    await api.updateMessage({ channel: 'C0APPROVALS', ts: '1.2' }, MESSAGE);
    // Assess
    const [url, init] = fetchMock.mock.calls[0] ?? [];
    expect(url).toBe('https://slack.com/api/chat.update');
    expect(JSON.parse(String(init?.body))).toEqual({ channel: 'C0APPROVALS', ts: '1.2', ...MESSAGE });
  });

  it('turns ok:false into a SlackApiError carrying Slack’s error code and never the token', async () => {
    // Prepare
    fetchMock.mockResolvedValue(Response.json({ ok: false, error: 'channel_not_found' }));
    // Act
    const error = await api.postMessage('C0NOPE', MESSAGE).catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(SlackApiError);
    expect(error).toMatchObject({ method: 'chat.postMessage', error: 'channel_not_found' });
    expect(String((error as Error).message)).not.toContain(TOKEN);
  });

  it('reports rate limiting (HTTP 429) as ratelimited', async () => {
    // Prepare
    fetchMock.mockResolvedValue(new Response('', { status: 429, headers: { 'retry-after': '1' } }));
    // Act
    const result = api.updateMessage({ channel: 'C0', ts: '1.2' }, MESSAGE);
    // Assess
    await expect(result).rejects.toMatchObject({ error: 'ratelimited' });
  });

  it('sends an ephemeral reply that leaves the original message alone', async () => {
    // Prepare
    fetchMock.mockResolvedValue(new Response('ok'));
    // Act
    await api.respond('https://hooks.slack.com/actions/T0/1/abc', 'nope');
    // Assess
    const [url, init] = fetchMock.mock.calls[0] ?? [];
    expect(url).toBe('https://hooks.slack.com/actions/T0/1/abc');
    expect(JSON.parse(String(init?.body))).toEqual({
      response_type: 'ephemeral',
      replace_original: false,
      text: 'nope',
    });
    expect(init?.headers).not.toHaveProperty('authorization');
  });

  it('refuses a response_url that is not on Slack’s hooks origin without sending anything', async () => {
    // Act
    const result = api.respond('https://hooks.slack.com.attacker.example/x', 'nope');
    // Assess
    await expect(result).rejects.toBeInstanceOf(SlackApiError);
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it('allows the extra origins it was given (the local fake Slack)', async () => {
    // Prepare
    const local = new SlackWebApi({
      token: async () => TOKEN,
      baseUrl: 'http://127.0.0.1:4000/api/',
      responseOrigins: ['http://127.0.0.1:4000'],
    });
    fetchMock.mockImplementation(async () => Response.json({ ok: true, channel: 'C0', ts: '1.1' }));
    // Act
    await local.respond('http://127.0.0.1:4000/response/abc', 'hi');
    await local.postMessage('C0', MESSAGE);
    // Assess
    expect(fetchMock.mock.calls.map(([url]) => url)).toEqual([
      'http://127.0.0.1:4000/response/abc',
      'http://127.0.0.1:4000/api/chat.postMessage',
    ]);
  });
});
