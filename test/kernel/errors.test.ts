import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { errorCatalogue } from 'apflow';
import { repoRoot } from '../helpers.ts';

test("the API reference's error-code table and the catalogue list the same codes with the same numbers", () => {
  const reference = readFileSync(join(repoRoot, 'docs', 'api.md'), 'utf8');
  const rows = [...reference.matchAll(/^\| `(APF_[A-Z_]+)` +\| +(-?\d+) +\| +(\d+) +\|/gm)].map(
    (m) => [String(m[1]), Number(m[2]), Number(m[3])] as const,
  );
  const documented = new Map(rows.map(([code, rpc, status]) => [code, { rpc, status }]));
  for (const [code, entry] of Object.entries(errorCatalogue)) {
    assert.deepEqual(documented.get(code), { rpc: entry.rpc, status: entry.status }, `docs/api.md row for ${code}`);
  }
  for (const code of documented.keys())
    assert.ok(code in errorCatalogue, `${code} is documented but not in the catalogue`);
});
