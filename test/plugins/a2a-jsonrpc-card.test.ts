import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testApp } from '../helpers.ts';
import { V1, a2aApp } from './a2a-jsonrpc-setup.ts';

test('the card without A2A-Version: the v0.3 shape with supportedInterfaces, on all three paths', async (t) => {
  const { url } = await a2aApp(t);
  const bodies: Record<string, unknown>[] = [];
  for (const path of ['/.well-known/agent-card.json', '/.well-known/agent-card', '/.well-known/agent.json']) {
    const response = await fetch(`${url}${path}`);
    assert.equal(response.status, 200, path);
    assert.match(String(response.headers.get('content-type')), /^application\/json/);
    bodies.push((await response.json()) as Record<string, unknown>);
  }
  assert.deepEqual(bodies[1], bodies[0]);
  assert.deepEqual(bodies[2], bodies[0]);
  const card = bodies[0] as Record<string, unknown>;
  for (const key of ['name', 'description', 'version', 'url', 'protocolVersion'])
    assert.ok(typeof card[key] === 'string' && card[key] !== '', key);
  assert.equal(card.url, `${url}/`);
  assert.match(String(card.url), /^https?:\/\/[^\s/$.?#].[^\s]*$/);
  assert.equal(card.preferredTransport, 'JSONRPC');
  assert.equal(card.protocolVersion, '0.3.0');
  assert.deepEqual(
    {
      streaming: (card.capabilities as Record<string, unknown>).streaming,
      pushNotifications: (card.capabilities as Record<string, unknown>).pushNotifications,
    },
    { streaming: true, pushNotifications: true },
  );
  for (const key of ['defaultInputModes', 'defaultOutputModes']) {
    const modes = card[key] as unknown[];
    assert.ok(
      Array.isArray(modes) && modes.length > 0 && modes.every((mode) => typeof mode === 'string' && mode !== ''),
      key,
    );
  }
  const skills = card.skills as Record<string, unknown>[];
  assert.ok(skills.length > 0);
  for (const skill of skills) {
    for (const key of ['id', 'name', 'description'])
      assert.ok(typeof skill[key] === 'string' && skill[key] !== '', `skill.${key}`);
    assert.ok(Array.isArray(skill.tags) && skill.tags.length > 0, 'skill.tags');
  }
  assert.ok(skills.some((skill) => skill.id === 'tasks.execute'));
  assert.deepEqual(card.supportedInterfaces, [
    { url: `${url}/`, protocolBinding: 'JSONRPC', protocolVersion: '1.0' },
    { url: `${url}/`, protocolBinding: 'JSONRPC', protocolVersion: '0.3' },
  ]);
});

test('the card with A2A-Version: 1.0 is the v1.0 shape; ETags differ per version, Vary names A2A-Version, If-None-Match gives 304', async (t) => {
  const { url } = await a2aApp(t);
  const response = await fetch(`${url}/.well-known/agent-card.json`, { headers: V1 });
  assert.equal(response.status, 200);
  const card = (await response.json()) as Record<string, unknown>;
  assert.deepEqual(card.supportedInterfaces, [
    { url: `${url}/`, protocolBinding: 'JSONRPC', protocolVersion: '1.0' },
    { url: `${url}/`, protocolBinding: 'JSONRPC', protocolVersion: '0.3' },
  ]);
  for (const key of ['url', 'preferredTransport', 'protocolVersion', 'supportsAuthenticatedExtendedCard'])
    assert.equal(card[key], undefined, `no top-level ${key} in v1.0`);
  assert.equal((card.capabilities as Record<string, unknown>).streaming, true);
  assert.equal((card.capabilities as Record<string, unknown>).pushNotifications, true);
  assert.ok((card.skills as { id: string }[]).some((skill) => skill.id === 'tasks.execute'));

  const etag1 = response.headers.get('etag');
  assert.ok(etag1, 'an ETag');
  assert.match(String(response.headers.get('vary')), /A2A-Version/i);
  assert.match(String(response.headers.get('cache-control')), /max-age=\d+/);
  const v03 = await fetch(`${url}/.well-known/agent-card.json`);
  const etag03 = v03.headers.get('etag');
  assert.ok(etag03);
  assert.notEqual(etag03, etag1, 'the two shapes have different ETags');
  assert.match(String(v03.headers.get('vary')), /A2A-Version/i);

  const again = await fetch(`${url}/.well-known/agent-card.json`, { headers: { ...V1, 'if-none-match': etag1 } });
  assert.equal(again.status, 304);
  assert.equal(await again.text(), '');
  const again03 = await fetch(`${url}/.well-known/agent-card.json`, { headers: { 'if-none-match': etag03 } });
  assert.equal(again03.status, 304);
  const stale = await fetch(`${url}/.well-known/agent-card.json`, { headers: { 'if-none-match': etag1 } });
  assert.equal(stale.status, 200, 'the v1.0 ETag does not match the v0.3 card');
});

test('the card url comes from the request Host (never 0.0.0.0), or from server.base_url', async (t) => {
  const app = await testApp(t);
  const { port } = await app.listen({ host: '0.0.0.0', port: 0 });
  const direct = (await (await fetch(`http://127.0.0.1:${port}/.well-known/agent-card.json`)).json()) as {
    url: string;
  };
  assert.equal(direct.url, `http://127.0.0.1:${port}/`);
  const named = await app.inject({
    method: 'GET',
    url: '/.well-known/agent-card.json',
    headers: { host: 'agents.example.test:8443' },
  });
  assert.equal((named.json() as { url: string }).url, 'http://agents.example.test:8443/');
  const wildcard = await app.inject({
    method: 'GET',
    url: '/.well-known/agent-card.json',
    headers: { host: `0.0.0.0:${port}` },
  });
  const wildUrl = (wildcard.json() as { url: string }).url;
  assert.ok(!wildUrl.includes('0.0.0.0'), wildUrl);
  const v1 = await app.inject({
    method: 'GET',
    url: '/.well-known/agent-card.json',
    headers: { host: `0.0.0.0:${port}`, ...V1 },
  });
  assert.ok(!JSON.stringify(v1.json()).includes('0.0.0.0'));

  const based = await testApp(t, { server: { base_url: 'https://agents.example.com/' } });
  const { url } = await based.listen({ host: '127.0.0.1', port: 0 });
  const card03 = (await (await fetch(`${url}/.well-known/agent-card.json`)).json()) as {
    url: string;
    supportedInterfaces: { url: string }[];
  };
  assert.equal(card03.url, 'https://agents.example.com/');
  assert.deepEqual(
    card03.supportedInterfaces.map((iface) => iface.url),
    ['https://agents.example.com/', 'https://agents.example.com/'],
  );
  const card1 = (await (await fetch(`${url}/.well-known/agent-card.json`, { headers: V1 })).json()) as {
    supportedInterfaces: { url: string }[];
  };
  assert.deepEqual(
    card1.supportedInterfaces.map((iface) => iface.url),
    ['https://agents.example.com/', 'https://agents.example.com/'],
  );
});
