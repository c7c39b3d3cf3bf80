// Runs every fenced code block of README.md and docs/*.md, each as its own test named file:line,
// so the guides stay true (how each language is run: docs/development.md, "The guides' code blocks").
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { freePort, repoRoot } from '../helpers.ts';
import { postgresAdminUrl, testDatabases } from '../databases.ts';
import { brokenLinks } from './check-links.ts';
import { docFiles, extractBlocks, withPort, type CodeBlock } from './extract-blocks.ts';
import { createSandbox, runShell, type ShellResult } from './sandbox.ts';
import { docServers, serveUntilHealthy } from './doc-servers.ts';
import { loadProject, runTsFile, typeCheck, writeTsBlocks, type TsFile, type TypeCheck } from './ts-blocks.ts';
import { loadYamlConfig, rpcRequest, sendRpc } from './data-blocks.ts';

const guides = readdirSync(join(repoRoot, 'docs'))
  .filter((name) => name.endsWith('.md'))
  .map((name) => `docs/${name}`);
const files = docFiles(repoRoot, guides);
const blocks = files.flatMap((file) => extractBlocks(repoRoot, file));
const MODES = new Set(['skip', 'expect-error', 'serve', 'postgres', 'auth', 'fragment', 'client']);
const LANGS: Record<string, string> = { ts: 'ts', typescript: 'ts', bash: 'sh', sh: 'sh', shell: 'sh' };
for (const lang of ['json', 'yaml', 'yml', 'text', 'console', 'output', 'plaintext']) LANGS[lang] = lang;

const sandbox = createSandbox();
const servers = docServers(sandbox);
const skipped: string[] = [];
let tsFiles = new Map<CodeBlock, TsFile>();
/** The port the ts blocks' `localhost:8000` became (a `client` block's is the plain server's instead). */
let tsPort = 0;
let checked: Promise<TypeCheck>;
const projects = new Map<string, Promise<string | null>>();

before(async () => {
  tsPort = await freePort();
  const written = writeTsBlocks(
    sandbox.root,
    blocks.filter((block) => LANGS[block.lang] === 'ts'),
    tsPort,
  );
  tsFiles = new Map(written.map((file) => [file.block, file]));
  checked = typeCheck(sandbox.root, written);
  checked.catch(() => {}); // awaited by the blocks; this only keeps an early failure from going unhandled
  // The authenticated server starts beside the type check rather than when its first block runs.
  if (blocks.some((block) => block.directive?.modes.has('auth'))) void servers.auth();
});
after(async () => {
  await servers.stopAll();
  sandbox.remove();
});

const where = (block: CodeBlock) => `${block.file}:${block.line}`;
const ran = (result: ShellResult) => `exit ${result.code}\n${result.output}`;

test("the guides' links name files and headings that exist", () => {
  assert.deepEqual(brokenLinks(repoRoot, files), []);
});

for (const block of blocks) {
  test(where(block), async (t) => {
    const directive = block.directive;
    for (const mode of directive?.modes ?? []) assert.ok(MODES.has(mode), `${where(block)}: unknown mode '${mode}'`);
    if (directive?.modes.has('skip')) {
      assert.ok(directive.reason, `${where(block)}: a skipped block says why: <!-- docs-test: skip (reason) -->`);
      skipped.push(`${where(block)} (${block.lang}): ${directive.reason}`);
      t.skip(directive.reason);
      return;
    }
    const kind = LANGS[block.lang];
    if (kind === 'ts') return tsBlock(block);
    if (kind === 'sh') return shellBlock(t, block);
    if (kind === 'json') return jsonBlock(block);
    if (kind === 'yaml' || kind === 'yml') return void (await loadYamlConfig(sandbox.root, block));
    if (kind !== undefined) return t.diagnostic('output or illustration: not run');
    assert.fail(
      `${where(block)}: a block in '${block.lang || 'no language'}' cannot be classified: use ts, bash, json, yaml or text, or mark it <!-- docs-test: skip (reason) -->`,
    );
  });
}

// Last: the shell blocks run while the type check does.
test('the type check found no errors outside the blocks', async () => {
  const { other } = await checked;
  assert.deepEqual(other, []);
});

test('skipped blocks', (t) => {
  for (const line of skipped) t.diagnostic(line);
});

async function tsBlock(block: CodeBlock): Promise<void> {
  const file = tsFiles.get(block);
  assert.ok(file, `${where(block)} was not written`);
  const errors = (await checked).byFile.get(join(file.dir, file.path)) ?? [];
  assert.deepEqual(
    errors.map((error) => error.replace(/^line (\d+)/, (_all, n: string) => `${block.file}:${block.line + Number(n)}`)),
    [],
    `${where(block)} does not type-check`,
  );
  if (file.role === 'fragment') return;
  if (file.role === 'test' || file.role === 'script') {
    // A client of the server the shell blocks use: its address in place of the free port.
    if (block.directive?.modes.has('client')) {
      const path = join(file.dir, file.path);
      const server = await servers.plain();
      writeFileSync(path, readFileSync(path, 'utf8').replaceAll(`localhost:${tsPort}`, `localhost:${server.port}`));
    }
    const result = await runTsFile(file);
    assert.equal(result.code, 0, `${where(block)}: ${ran(result)}`);
    return;
  }
  // Executors, plugins and config files of one guide are loaded together, by one server.
  let loaded = projects.get(file.dir);
  if (!loaded) {
    loaded = loadProject(
      file.dir,
      [...tsFiles.values()].filter((one) => one.dir === file.dir),
    );
    projects.set(file.dir, loaded);
  }
  assert.equal(await loaded, null, `${where(block)}: its guide's project does not load`);
}

async function shellBlock(t: TestContext, block: CodeBlock): Promise<void> {
  const modes = block.directive?.modes ?? new Set<string>();
  if (modes.has('serve')) {
    let script = block.body;
    if (modes.has('postgres')) {
      if (!postgresAdminUrl) return void t.skip('needs PostgreSQL: set APFLOW_TEST_POSTGRES_URL (scripts/postgres.sh)');
      const postgres = testDatabases().find((database) => database.name === 'postgres');
      assert.ok(postgres);
      const url = await postgres.create(t);
      script = script.replace(/postgres(ql)?:\/\/\S+/g, url);
    }
    const port = await freePort();
    const served = await serveUntilHealthy(
      withPort(script, port),
      sandbox.project(`serve-L${block.line}`),
      sandbox.shellEnv(),
      port,
    );
    assert.ok(served.ok, `${where(block)} did not serve /health:\n${served.output}`);
    return;
  }
  const server = await (modes.has('auth') ? servers.auth() : servers.plain());
  const result = await runShell(withPort(block.body, server.port), server.dir, sandbox.shellEnv(server.env));
  if (modes.has('expect-error')) assert.notEqual(result.code, 0, `${where(block)} was to fail: ${ran(result)}`);
  else assert.equal(result.code, 0, `${where(block)}: ${ran(result)}`);
}

async function jsonBlock(block: CodeBlock): Promise<void> {
  let value: unknown;
  assert.doesNotThrow(() => (value = JSON.parse(block.body)), `${where(block)} is not valid JSON`);
  const request = rpcRequest(value);
  if (!request) return;
  const server = await servers.plain();
  const sent = await sendRpc(server.base, block.body, request.method);
  const shown = `${where(block)} answered ${sent.status} ${JSON.stringify(sent.answer)}`;
  if (block.directive?.modes.has('expect-error')) assert.ok(sent.error, shown);
  else assert.ok(sent.status === 200 && !sent.error, shown);
}
