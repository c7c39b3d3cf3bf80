// The `startup` reference: a bare Fastify app with one raw better-sqlite3 connection (apflow's
// driver; a file, WAL, one table made if missing) answering GET /health, started as `apflow serve`
// is: `node FILE PORT`.
import Fastify from 'fastify';
import Database from 'better-sqlite3';

const db = new Database('bare.sqlite');
db.exec('PRAGMA journal_mode = WAL; CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, body TEXT)');
const ping = db.prepare('SELECT 1');
const app = Fastify();
app.get('/health', async () => {
  ping.get();
  return { status: 'ok' };
});
await app.listen({ host: '127.0.0.1', port: Number(process.argv[2]) });
process.once(
  'SIGTERM',
  () =>
    void app.close().then(() => {
      db.close();
      process.exit(0);
    }),
);
