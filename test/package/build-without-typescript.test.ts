import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../helpers.ts';

test("npm's prepare step builds nothing, and succeeds, where TypeScript is not installed (npm ci --omit=dev)", (t) => {
  const clone = mkdtempSync(join(tmpdir(), 'apflow-omit-dev-'));
  t.after(() => rmSync(clone, { recursive: true, force: true }));
  mkdirSync(join(clone, 'scripts'));
  cpSync(join(repoRoot, 'scripts/build.js'), join(clone, 'scripts/build.js'));
  const out = execFileSync(process.execPath, [join(clone, 'scripts/build.js')], { cwd: clone, encoding: 'utf8' });
  assert.match(out, /typescript is not installed.*nothing built/);
  assert.ok(!existsSync(join(clone, 'dist')));
});
