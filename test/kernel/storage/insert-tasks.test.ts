/**
 * A tree's insert names only the columns some row of its batch has a value for: the others are
 * left to the database, which stores NULL, and every task reads back as it was built.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { insertFreeTasks, insertStatements, insertTasks } from '../../../kernel/storage/queries/insert-tasks.ts';
import { selectTree } from '../../../kernel/storage/queries/select-tasks.ts';
import { buildTaskTree } from '../../../kernel/tasks/build-task-tree.ts';
import { testDatabases, testStorage } from '../../databases.ts';
import { traceStatements } from '../../statement-trace.ts';

const columnsOf = (statement: string) =>
  (/^INSERT INTO apflow_tasks \(([^)]*)\)/.exec(statement)?.[1] ?? '').split(', ');

for (const db of testDatabases()) {
  test(`${db.name}: a batch leaves out the columns none of its rows has, and the rows read back whole`, async (t) => {
    const storage = await testStorage(t, await db.create(t));
    await storage.migrate();
    // 250 tasks: two batches of the insert (200 + 50); one task of the second has params.
    const tasks: Record<string, unknown>[] = [{ id: 'root', name: 'root', inputs: { n: 1 } }];
    for (let i = 1; i < 250; i++) tasks.push({ id: `c${i}`, name: `c${i}`, parent_id: 'root' });
    Object.assign(tasks[240] as object, { params: { deep: [1, 'two'] }, priority: 3 });
    const rows = buildTaskTree(tasks);

    const [first = [], second = []] = [...insertStatements(storage.sql, rows)].map(([text]) => columnsOf(text));
    assert.ok(first.includes('inputs') && !first.includes('params'), first.join());
    assert.ok(!first.includes('lease_owner') && !first.includes('completed_at'), 'empty columns are left out');
    assert.ok(second.includes('params'), 'a column one row has is sent for all');

    await storage.sql.write((tx) => insertTasks(storage.sql, tx, rows));
    const stored = await selectTree(storage.sql, 'root');
    assert.equal(stored.length, 250);
    const byId = new Map(stored.map((row) => [row.id, row]));
    for (const row of rows) {
      const back = byId.get(row.id);
      for (const [column, value] of Object.entries(row))
        assert.deepEqual(back?.[column as keyof typeof back], value, `${row.id}.${column}`);
    }
    assert.equal(byId.get('c239')?.params, null);
    assert.deepEqual(byId.get('c240')?.params, { deep: [1, 'two'] });
  });
}

for (const db of testDatabases()) {
  test(`${db.name}: rows whose ids are taken are left out and the others go in, the batches sent one behind the other`, async (t) => {
    const storage = await testStorage(t, await db.create(t));
    await storage.migrate();
    // 450 tasks: three batches; one id of the first and one of the last are taken already.
    const tasks: Record<string, unknown>[] = [{ id: 'root', name: 'root' }];
    for (let i = 1; i < 450; i++) tasks.push({ id: `c${i}`, name: `c${i}`, parent_id: 'root' });
    const rows = buildTaskTree(tasks);
    const taken = buildTaskTree([
      { id: 'c7', name: 'other' },
      { id: 'c420', name: 'other2', parent_id: 'c7' },
    ]);
    await storage.sql.write((tx) => insertTasks(storage.sql, tx, taken));

    const { value: inserted, trace } = await traceStatements(() =>
      storage.sql.write((tx) => insertFreeTasks(storage.sql, tx, rows)),
    );
    assert.deepEqual(
      [...inserted].sort(),
      rows
        .map((row) => row.id)
        .filter((id) => id !== 'c7' && id !== 'c420')
        .sort(),
    );
    assert.equal((await selectTree(storage.sql, 'root')).length, 448);
    if (db.name === 'postgres') {
      const inserts = trace.filter((each) => each.text.startsWith('INSERT INTO apflow_tasks'));
      assert.equal(inserts.length, 3);
      // Pipelined: the next batch leaves before the answer to the one before it.
      for (let i = 1; i < inserts.length; i++)
        assert.ok((inserts[i]?.sent ?? 0) < (inserts[i - 1]?.answered ?? 0), `batch ${i + 1} waited for batch ${i}`);
    }
  });
}
