/**
 * The tree quota counted in the database: two servers on one database share each user's count,
 * and starts racing on both never pass the limit together (SQLite and PostgreSQL).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { postgresAdminUrl, testDatabases } from '../databases.ts';
import { assertRefused, quotaServer } from './quotas-setup.ts';

for (const db of testDatabases()) {
  test(`${db.name}: two servers share the count: two runs on one, one on the other, the fourth refused on either`, async (t) => {
    const database = { database: { url: await db.create(t) } };
    const one = await quotaServer(t, { trees_per_day: 3 }, database);
    const two = await quotaServer(t, { trees_per_day: 3 }, database);
    const [aliceOne, aliceTwo] = [one.as('alice'), two.as('alice')];
    assert.equal((await aliceOne.run('s1')).error, undefined);
    assert.equal((await aliceOne.run('s2')).error, undefined);
    assert.equal((await aliceTwo.run('s3')).error, undefined);
    assertRefused(await aliceTwo.run('s4'), 'trees', 3, 3);
    assertRefused(await aliceOne.call('tasks.execute', { task_id: 's4' }), 'trees', 3, 3);
    assert.deepEqual((await aliceTwo.ok<{ trees: unknown }>('quotas.status', {})).trees, { used: 3, limit: 3 });

    // Bob starts eight runs at once, half on each server: exactly his limit of three begin.
    const [bobOne, bobTwo] = [one.as('bob'), two.as('bob')];
    const ids = Array.from({ length: 8 }, (_, index) => `race${index}`);
    for (const id of ids) await bobOne.create(id);
    const answers = await Promise.all(
      ids.map((id, index) => (index % 2 ? bobTwo : bobOne).call('tasks.execute', { task_id: id })),
    );
    assert.equal(answers.filter((answer) => answer.error === undefined).length, 3, JSON.stringify(answers));
    for (const answer of answers.filter((each) => each.error)) assertRefused(answer, 'trees', 3, 3);
  });
}

test(
  'postgres: over_limit demo on two servers: the run after the shared limit is a demo on the other server too',
  { skip: !postgresAdminUrl && 'no PostgreSQL' },
  async (t) => {
    const postgres = testDatabases().find((db) => db.name === 'postgres');
    const database = { database: { url: await (postgres as NonNullable<typeof postgres>).create(t) } };
    const one = await quotaServer(t, { trees_per_day: 1, over_limit: 'demo' }, database);
    const two = await quotaServer(t, { trees_per_day: 1, over_limit: 'demo' }, database);
    assert.equal((await one.as('alice').run('d1')).error, undefined);
    const demo = await two.as('alice').run('d2');
    assert.equal(demo.error, undefined, JSON.stringify(demo));
    const task = await two
      .as('alice')
      .ok<{ status: string; result: Record<string, unknown> }>('tasks.get', { task_id: 'd2' });
    assert.deepEqual([task.status, task.result.demo_mode], ['completed', true]);
    const first = await one.as('alice').ok<{ result: Record<string, unknown> }>('tasks.get', { task_id: 'd1' });
    assert.equal(first.result.demo_mode, undefined, 'the first run was a real one');
  },
);
