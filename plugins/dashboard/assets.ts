import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

/** One file of the dashboard, ready to send. */
export interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer;
  etag: string;
}

/** The page served at `/ui` itself. */
export const PAGE_ASSET = 'index.html';

const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'tree-view.js': 'text/javascript; charset=utf-8',
  'api.js': 'text/javascript; charset=utf-8',
  'task-panel.js': 'text/javascript; charset=utf-8',
  'input-form.js': 'text/javascript; charset=utf-8',
  'tree-list.js': 'text/javascript; charset=utf-8',
  'schedules-view.js': 'text/javascript; charset=utf-8',
  'run-log.js': 'text/javascript; charset=utf-8',
  'run-figures.js': 'text/javascript; charset=utf-8',
  'timeline-view.js': 'text/javascript; charset=utf-8',
  'tree-head.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  'waiting.css': 'text/css; charset=utf-8',
  'timeline.css': 'text/css; charset=utf-8',
};

/** Reads the dashboard's files from `ui/` once, compressed once. */
export async function loadAssets(): Promise<Map<string, Asset>> {
  const dir = join(import.meta.dirname, 'ui');
  const assets = new Map<string, Asset>();
  for (const [name, type] of Object.entries(FILES)) {
    assets.set(name, await makeAsset(type, await readFile(join(dir, name))));
  }
  return assets;
}

/** An asset of `body`: compressed once, with its ETag. */
export async function makeAsset(type: string, body: Buffer): Promise<Asset> {
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
  return { type, body, gzip: await promisify(gzip)(body), etag };
}
