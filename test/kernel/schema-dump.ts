import type { App } from 'apflow';

type Row = Record<string, unknown>;

/**
 * The schema of an app's database as the database itself reports it, one line per column, index
 * and constraint, sorted: what two databases made by different code must agree on. SQLite:
 * `PRAGMA table_info`, `index_list` and `index_info` (its stored CREATE text keeps the quoting
 * of whoever wrote it); PostgreSQL: information_schema and pg_indexes/pg_constraint.
 */
export async function dumpSchema(app: App): Promise<string> {
  const { sql } = app.storage;
  const lines: string[] = [];
  if (app.storage.dialect === 'sqlite') {
    const tables = await sql.select<{ name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    );
    for (const { name } of tables) {
      for (const c of await sql.select<Row>(`PRAGMA table_info(${name})`))
        lines.push(`${name}.${c.name} ${c.type}${c.notnull ? ' NOT NULL' : ''} default=${c.dflt_value} pk=${c.pk}`);
      for (const index of await sql.select<Row>(`PRAGMA index_list(${name})`)) {
        const columns = await sql.select<{ name: string }>(`PRAGMA index_info(${String(index.name)})`);
        // Names of implicit indexes (sqlite_autoindex_…_N) depend on the order they were made in.
        const label = String(index.name).startsWith('sqlite_autoindex') ? 'auto' : index.name;
        lines.push(
          `${name} index ${label} (${columns.map((c) => c.name).join(', ')}) unique=${index.unique} origin=${index.origin} partial=${index.partial}`,
        );
      }
    }
  } else {
    for (const c of await sql.select<Row>(
      'SELECT table_name, column_name, data_type, character_maximum_length, is_nullable, column_default FROM information_schema.columns WHERE table_schema = current_schema()',
    ))
      lines.push(
        `${c.table_name}.${c.column_name} ${c.data_type}${c.character_maximum_length ? `(${c.character_maximum_length})` : ''}${c.is_nullable === 'NO' ? ' NOT NULL' : ''} default=${c.column_default ?? ''}`,
      );
    for (const i of await sql.select<Row>('SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema()'))
      lines.push(String(i.indexdef));
    for (const c of await sql.select<Row>(
      'SELECT conrelid::regclass::text AS t, conname, pg_get_constraintdef(oid) AS d FROM pg_constraint WHERE connamespace = current_schema()::regnamespace',
    ))
      lines.push(`${c.t} constraint ${c.conname} ${c.d}`);
  }
  return `${lines.sort().join('\n')}\n`;
}
