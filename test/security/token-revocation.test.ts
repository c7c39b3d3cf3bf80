import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import WebSocket from 'ws';
import type { App } from 'apflow';
import {
  eventually,
  launchApflow,
  rpc,
  runApflow,
  sleep,
  tempProject,
  testApp,
  waitListening,
  writeFiles,
} from '../helpers.ts';

// Issue 18, finding 10: a removed user's tokens stayed valid. `apflow users remove` (another
// process than the server) revokes them, and so does a new password (`users add` again).

const SECRET = 'test-secret-that-is-long-enough-for-hs256!';

test(
  'apflow users remove and a password change revoke the earlier tokens on a running server; tokens for names that are not users keep working',
  { timeout: 240_000 },
  async (t) => {
    const dir = tempProject(t);
    const database = { url: `sqlite:${join(dir, 'db.sqlite')}` };
    writeFiles(dir, {
      'apflow.config.json': JSON.stringify({ database, executors: { dirs: [] }, jwt_auth: { token_recheck_s: 1 } }),
    });
    const env = { APFLOW_JWT_SECRET: SECRET };
    const cli = async (args: string[], input?: string) => {
      const result = await runApflow(args, { cwd: dir, env, ...(input === undefined ? {} : { input }) });
      assert.equal(result.code, 0, result.stderr);
      return result.stdout;
    };
    // Users are set up in this process on the same database file (quicker than more CLI runs); the
    // changes under test are made by the CLI, a process of its own, as an operator would.
    const local = await testApp(t, { database, auth: { jwt_secret: SECRET } });
    const service = (local as App).service('jwt-auth');
    assert.ok(service);
    await service.users.add('alice', 'alice password 1', []);
    await service.users.add('bob', 'bob password 1', []);

    const server = launchApflow(t, ['serve', '--port', '0', '--host', '127.0.0.1'], { cwd: dir, env });
    const url = await waitListening(server);
    const login = async (username: string, password: string) => {
      const answer = await rpc(url, '/auth/login', { username, password });
      return answer.status === 200 ? String(answer.body?.access_token) : answer.status;
    };
    const count = async (token: string) => {
      const answer = await rpc(
        url,
        '/tasks',
        { jsonrpc: '2.0', id: 1, method: 'tasks.count' },
        { authorization: `Bearer ${token}` },
      );
      return {
        status: answer.status,
        message: String((answer.body?.error as { message?: string } | undefined)?.message ?? ''),
      };
    };
    const revoked = (token: string) =>
      eventually(async () => {
        const answer = await count(token);
        return answer.status === 401 && /revoked/.test(answer.message);
      }, 10_000);

    const alice = String(await login('alice', 'alice password 1'));
    const bob = String(await login('bob', 'bob password 1'));
    const bobMinted = await service.mint('bob', [], '1h');
    const carol = await service.mint('carol', [], '1h');
    for (const token of [alice, bob, bobMinted, carol]) assert.equal((await count(token)).status, 200);

    assert.match(
      await cli(['users', 'remove', 'alice']),
      /removed alice; tokens issued to alice before now are refused within 1 s/,
    );
    await revoked(alice);
    assert.equal((await count(bob)).status, 200, "another user's token is not concerned");

    assert.match(
      await cli(['users', 'add', 'bob', '--password-stdin'], 'bob password 2\n'),
      /updated bob; tokens issued to bob before now are refused/,
    );
    await revoked(bob);
    await revoked(bobMinted);
    assert.equal(await login('bob', 'bob password 1'), 401);
    assert.equal(
      (await count(String(await login('bob', 'bob password 2')))).status,
      200,
      'a token from the new password works',
    );

    await service.users.add('alice', 'alice password 1', []);
    assert.equal((await count(String(await login('alice', 'alice password 1')))).status, 200);
    assert.equal((await count(alice)).status, 401, 'adding alice again does not bring her old tokens back');
    assert.equal((await count(carol)).status, 200, 'a token minted for a name that is not a stored user keeps working');
  },
);

test('an open WebSocket whose user is removed is closed at the next check (websocket.recheck_s); other connections go on', async (t) => {
  const app = await testApp(t, {
    auth: { jwt_secret: SECRET },
    jwt_auth: { token_recheck_s: 0 },
    websocket: { recheck_s: 0.2 },
  });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const service = app.service('jwt-auth');
  assert.ok(service);
  await service.users.add('dave', 'dave password 1', []);
  await service.users.add('erin', 'erin password 1', []);
  const token = async (username: string) =>
    String((await rpc(url, '/auth/login', { username, password: `${username} password 1` })).body?.access_token);

  /** A socket that authenticated with an `auth` message (dave) or on the upgrade (erin). */
  const connect = async (query: string, first?: Record<string, unknown>) => {
    const socket = new WebSocket(`${url.replace('http', 'ws')}/ws${query}`);
    const messages: Record<string, unknown>[] = [];
    socket.on('message', (data) => messages.push(JSON.parse(String(data)) as Record<string, unknown>));
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
    );
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    t.after(() => socket.terminate());
    if (first) {
      socket.send(JSON.stringify(first));
      await eventually(() => messages.some((message) => message.type === 'authenticated'), 10_000);
    }
    return { socket, messages, closed };
  };
  const dave = await connect('', { action: 'auth', token: await token('dave') });
  const erin = await connect(`?token=${await token('erin')}`);

  assert.equal(await service.users.remove('dave'), true);
  const { code, reason } = await Promise.race([
    dave.closed,
    sleep(10_000).then(() => assert.fail("dave's connection stayed open after dave was removed")),
  ]);
  assert.equal(code, 1008);
  assert.match(reason, /token no longer accepted \(revoked or user removed\)/);

  // Several checks later erin's connection is still served.
  await sleep(600);
  erin.socket.send(JSON.stringify({ action: 'ping' }));
  await eventually(() => erin.messages.some((message) => message.type === 'pong'), 10_000);
  assert.equal(erin.socket.readyState, WebSocket.OPEN);
});
