import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rpc } from '../helpers.ts';
import { V1, type Envelope, world } from './jwt-auth-isolation-setup.ts';

/**
 * User isolation with the jwt-auth plugin on, over every transport (HTTP JSON-RPC, REST, SSE,
 * WebSocket, A2A): another user's task is answered exactly like an unknown one, listings hold
 * only the caller's tasks, naming another user is forbidden, and an administrator may do it all.
 */

test('without a token: 401 with WWW-Authenticate: Bearer everywhere but the public routes; JSON-RPC routes answer -32001', async (t) => {
  const w = await world(t);
  const id = w.ids.tree;
  const rpcRoutes: [string, string][] = [
    ['/tasks', 'tasks.get'],
    ['/tasks', 'tasks.list'],
    ['/system', 'system.health'],
    ['/', 'execute_task_tree'],
    ['/', 'GetTask'],
  ];
  for (const [path, method] of rpcRoutes) {
    const answer = await rpc(
      w.url,
      path,
      { jsonrpc: '2.0', id: 7, method, params: { task_id: id, id, tasks: [{ name: 'x' }] } },
      path === '/' ? V1 : {},
    );
    assert.equal(answer.status, 401, `POST ${path} ${method}`);
    assert.equal(answer.headers.get('www-authenticate'), 'Bearer', `POST ${path} ${method}`);
    assert.equal((answer.body as Envelope).jsonrpc, '2.0');
    assert.equal(
      (answer.body as Envelope).error?.code,
      -32001,
      `POST ${path} ${method}: ${JSON.stringify(answer.body)}`,
    );
  }
  for (const path of ['/tasks', `/tasks/${id}/status`, `/tasks/${id}/events`, '/tasks/no-such-task/status']) {
    const response = await fetch(`${w.url}${path}`);
    assert.equal(response.status, 401, `GET ${path}`);
    assert.equal(response.headers.get('www-authenticate'), 'Bearer', `GET ${path}`);
    assert.equal(
      ((await response.json()) as { error: { code: string } }).error.code,
      'APF_UNAUTHENTICATED',
      `GET ${path}`,
    );
  }
  // A token signed with another secret is no token.
  const forged = await rpc(
    w.url,
    '/tasks',
    { jsonrpc: '2.0', id: 1, method: 'tasks.get', params: { task_id: id } },
    { authorization: `Bearer ${w.tokens.alice.slice(0, -4)}AAAA` },
  );
  assert.equal(forged.status, 401);
  assert.equal((forged.body as Envelope).error?.code, -32001);

  // Public: the agent card, health, login (reachable: bad credentials are its own 401), CORS preflight.
  for (const path of ['/.well-known/agent-card.json', '/health']) {
    const response = await fetch(`${w.url}${path}`);
    assert.equal(response.status, 200, `GET ${path}`);
    await response.arrayBuffer();
  }
  const login = await rpc(w.url, '/auth/login', { username: 'nobody', password: 'wrong-password' });
  assert.equal(login.status, 401);
  assert.match(JSON.stringify(login.body), /Invalid username or password/);
  const preflight = await fetch(`${w.url}/tasks`, {
    method: 'OPTIONS',
    headers: { origin: 'http://example.com', 'access-control-request-method': 'POST' },
  });
  await preflight.arrayBuffer();
  assert.notEqual(preflight.status, 401, 'a CORS preflight needs no token');
});
