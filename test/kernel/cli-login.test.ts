import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { runApflow, tempProject } from '../helpers.ts';
import { remoteProject } from './cli-remote-setup.ts';

test('apflow login saves a token (0600 file, 0700 folder) that --server uses; logout forgets it; tokens are never printed', async (t) => {
  const project = await remoteProject(t);
  const { url, cli } = project;
  const added = await cli(['users', 'add', 'alice', '--password-stdin'], { input: 'alice-secret-password\n' });
  assert.equal(added.code, 0, added.stderr);

  const before = await cli(['tasks', 'count', '--server', url]);
  assert.equal(before.code, 1, 'no token yet');
  const wrong = await cli(['login', url, '-u', 'alice', '--password-stdin'], { input: 'not-her-password\n' });
  assert.equal(wrong.code, 1);
  assert.equal(
    wrong.stderr,
    `apflow: login to ${url} as alice failed: Invalid username or password (APF_UNAUTHENTICATED)\n`,
  );

  const login = await cli(['login', `${url}/`, '--username', 'alice', '--password-stdin'], {
    input: 'alice-secret-password\n',
  });
  assert.equal(login.code, 0, login.stderr);
  const file = join(project.dir, '.apflow-home', 'credentials.json');
  assert.equal(login.stdout, `Logged in to ${url} as alice (token saved in ${file})\n`);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(statSync(join(project.dir, '.apflow-home')).mode & 0o777, 0o700);
  const token = (JSON.parse(readFileSync(file, 'utf8')) as Record<string, { token: string }>)[url]?.token ?? '';
  assert.ok(token.length > 20);

  const [count, listed] = await Promise.all([cli(['tasks', 'count', '--server', url]), cli(['login', '--list'])]);
  assert.equal(count.code, 0, `the saved login is used: ${count.stderr}`);
  assert.equal((JSON.parse(count.stdout) as { total: number }).total, 0);
  const logins = JSON.parse(listed.stdout) as Record<string, unknown>[];
  assert.deepEqual(
    logins.map(({ server, user }) => ({ server, user })),
    [{ server: url, user: 'alice' }],
  );
  for (const out of [login, count, listed]) assert.ok(!`${out.stdout}${out.stderr}`.includes(token), 'no token shown');

  const logout = await cli(['logout', url]);
  assert.equal(logout.stdout, `Logged out of ${url} (its token removed from ${file})\n`);
  const [after, again] = await Promise.all([cli(['tasks', 'count', '--server', url]), cli(['logout', url])]);
  assert.equal(after.code, 1, 'forgotten');
  assert.equal(again.stdout, `Not logged in to ${url}\n`);
});

test('apflow login --token checks the token with the server before saving it', async (t) => {
  const project = await remoteProject(t);
  const { url, cli } = project;
  const [refused, stdin] = await Promise.all([
    cli(['login', url, '--token', 'not-a-token']),
    cli(['login', url, '--token-stdin'], { input: `${await project.token('admin')}\n` }),
  ]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, new RegExp(`^apflow: ${url} refused the token: .+ \\(APF_UNAUTHENTICATED\\)\\n$`));
  assert.equal(stdin.code, 0, stdin.stderr);
  assert.match(stdin.stdout, new RegExp(`^Logged in to ${url} as admin \\(token saved in `));
  const executors = await cli(['executors', 'list', '--server', url]);
  assert.equal(executors.code, 0, executors.stderr);
  const [bad, twice] = await Promise.all([
    cli(['login', 'ftp://example.com']),
    cli(['login', url, '--token', 'x', '-u', 'alice']),
  ]);
  assert.match(bad.stderr, /'ftp:\/\/example\.com' is not an http:\/\/ or https:\/\/ address/);
  assert.match(twice.stderr, /log in one way: --token, --token-stdin or --username/);
});

test('apflow login -u does not follow a redirect (the password would be posted again, elsewhere)', async (t) => {
  const posted: string[] = [];
  const server = createServer((request, response) => {
    posted.push(request.url ?? '');
    if (request.url === '/auth/login') response.writeHead(307, { location: '/elsewhere/auth/login' }).end();
    else response.writeHead(200, { 'content-type': 'application/json' }).end('{"access_token":"stolen"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dir = tempProject(t);
  const login = await runApflow(['login', url, '-u', 'alice', '--password-stdin'], {
    cwd: dir,
    env: { APFLOW_CONFIG_DIR: `${dir}/.apflow-home` },
    input: 'secret\n',
  });
  assert.equal(login.code, 1);
  assert.equal(
    login.stderr,
    `apflow: ${url} answered with a redirect (to /elsewhere/auth/login): log in to the address it names (the password was not sent there) (APF_INVALID_PARAMS)\n`,
  );
  assert.deepEqual(posted, ['/auth/login'], 'nothing posted where it pointed');
});
