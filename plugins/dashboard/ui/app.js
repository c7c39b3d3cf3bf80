// The dashboard: trees list, tree view, task panel, actions, and the schedules view. Everything goes
// through the server's public API (api.js), so with authentication on a user sees exactly what the
// API lets them see.
import { follow, login, rpc, ServerError, startRun, token } from './ui?asset=api.js';
import { createSchedulesView } from './ui?asset=schedules-view.js';
import { renderTaskPanel } from './ui?asset=task-panel.js';
import { createTreeView } from './ui?asset=tree-view.js';

const $ = (id) => document.getElementById(id);
const PAGE = 20;
const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
const state = { offset: 0, rootId: null, tasks: new Map(), stop: null, selected: null };

const view = createTreeView($('canvas'), (id) => select(id));

function showError(error) {
  if (error instanceof ServerError && error.status === 401) return needLogin();
  $('error').textContent = error instanceof Error ? error.message : String(error);
  $('error').hidden = false;
}
const clearError = () => ($('error').hidden = true);
/** Runs an action; its failure is shown as the server worded it. */
const act =
  (work) =>
  async (...args) => {
    clearError();
    try {
      await work(...args);
    } catch (error) {
      showError(error);
    }
  };

function needLogin() {
  token.set(null);
  $('app').hidden = true;
  $('login').hidden = false;
  $('logout').hidden = true;
  $('who').textContent = '';
}

$('login').addEventListener(
  'submit',
  act(async (event) => {
    event.preventDefault();
    const form = new FormData($('login'));
    await login(String(form.get('username')), String(form.get('password')));
    $('login').hidden = true;
    $('who').textContent = String(form.get('username'));
    $('logout').hidden = false;
    await start();
  }),
);
$('logout').addEventListener('click', () => {
  state.stop?.();
  needLogin();
});

async function loadList() {
  const params = { root_only: true, limit: PAGE + 1, offset: state.offset };
  if ($('status-filter').value) params.status = $('status-filter').value;
  if ($('user-filter').value.trim()) params.user_id = $('user-filter').value.trim();
  const rows = await rpc('tasks.list', params);
  const list = $('tree-list');
  list.textContent = '';
  for (const task of rows.slice(0, PAGE)) {
    const item = document.createElement('li');
    item.dataset.id = task.id;
    item.classList.toggle('current', task.id === state.rootId);
    item.innerHTML = '<span class="name"></span><span class="badge"></span><small></small>';
    item.querySelector('.name').textContent = task.name;
    item.querySelector('.badge').textContent = task.status;
    item.querySelector('.badge').className = `badge s-${task.status}`;
    item.querySelector('small').textContent =
      `${task.user_id ?? 'no user'} · ${new Date(task.created_at).toLocaleString()}`;
    item.addEventListener(
      'click',
      act(() => openTree(task.id)),
    );
    list.append(item);
  }
  $('page').textContent = `${state.offset + 1}–${state.offset + Math.min(rows.length, PAGE)}`;
  $('prev').disabled = state.offset === 0;
  $('next').disabled = rows.length <= PAGE;
}
$('prev').addEventListener(
  'click',
  act(() => ((state.offset = Math.max(0, state.offset - PAGE)), loadList())),
);
$('next').addEventListener(
  'click',
  act(() => ((state.offset += PAGE), loadList())),
);
$('status-filter').addEventListener(
  'change',
  act(() => ((state.offset = 0), loadList())),
);
$('user-filter').addEventListener(
  'change',
  act(() => ((state.offset = 0), loadList())),
);

const flatten = (task, into = new Map()) => {
  into.set(task.id, task);
  for (const child of task.children ?? []) flatten(child, into);
  return into;
};

/** Shows the tree of `rootId` (a fresh snapshot) and follows its events live. */
async function openTree(rootId) {
  const root = await rpc('tasks.tree', { task_id: rootId });
  showView('trees');
  state.stop?.();
  state.rootId = root.id;
  state.tasks = flatten(root);
  $('tree-title').textContent = root.name;
  view.render(root);
  buttons();
  if (state.selected && state.tasks.has(state.selected)) panel(state.selected);
  else $('panel').innerHTML = '<p class="muted">Click a task to see it.</p>';
  for (const item of $('tree-list').children) item.classList.toggle('current', item.dataset.id === root.id);
  state.stop = follow(root.id, onEvent, (live) => $('live').classList.toggle('on', live));
  if (linked() !== root.id) history.replaceState(null, '', `#tree=${encodeURIComponent(root.id)}`);
}

/** A snapshot again, once the burst of events that called for it is over. */
let refreshing = 0;
const refresh = () => {
  clearTimeout(refreshing);
  refreshing = setTimeout(
    act(async () => {
      const root = await rpc('tasks.tree', { task_id: state.rootId });
      for (const [id, task] of flatten(root)) {
        state.tasks.set(id, task);
        view.update(id, { status: task.status, progress: task.progress });
      }
      buttons();
      if (state.selected) panel(state.selected);
      await loadList();
    }),
    150,
  );
};

function onEvent(event) {
  const task = state.tasks.get(event.task_id);
  // The log replays older runs too: only what is newer than the snapshot changes a node.
  if (!task || (task.updated_at && event.timestamp < task.updated_at)) return;
  Object.assign(task, { status: event.status, progress: event.progress, updated_at: event.timestamp });
  if (event.result !== undefined) task.result = event.result;
  if (event.error !== undefined) task.error = event.error;
  view.update(task.id, { status: task.status, progress: task.progress });
  if (state.selected === task.id) panel(task.id);
  buttons();
  if (event.type === 'final') refresh();
}

/** The shown tree's tasks per status (as `tasks.get` of its root counts them). */
function treeCounts() {
  const counts = { total: 0, completed: 0, failed: 0, cancelled: 0, pending: 0, in_progress: 0 };
  for (const task of state.tasks.values()) {
    counts.total++;
    if (task.status in counts) counts[task.status]++;
  }
  return counts;
}

/**
 * Execute, copy and cancel as the tree's state allows, and the tree's outcome: the root's mark
 * when it completed with failed tasks under it, its panel's counts (once a frame at most).
 */
let buttonsFrame = 0;
let shownCounts = '';
function buttons() {
  buttonsFrame ||= requestAnimationFrame(() => {
    buttonsFrame = 0;
    const root = state.tasks.get(state.rootId);
    const counts = treeCounts();
    // A parent waits (pending) while its children run: the tree runs while any task does.
    const running = counts.in_progress > 0;
    $('execute').disabled = !root || running;
    $('copy').disabled = !root;
    $('cancel').disabled = !running || TERMINAL.has(root?.status);
    if (!root) return;
    view.update(root.id, { warn: root.status === 'completed' && counts.failed > 0 });
    if (state.selected === root.id && JSON.stringify(counts) !== shownCounts) panel(root.id);
  });
}

function panel(id) {
  const task = state.tasks.get(id);
  if (!task) return;
  const counts = id === state.rootId ? treeCounts() : undefined;
  if (counts) shownCounts = JSON.stringify(counts);
  renderTaskPanel($('panel'), task, counts);
}
function select(id) {
  state.selected = id;
  view.select(id);
  panel(id);
}

/**
 * Starts a run of the tree of `rootId` and follows the tree the server says runs: with
 * authentication on, running a tree that belongs to nobody (an example) runs the user's own copy.
 * A refusal (already running, not found) is shown.
 */
async function execute(rootId) {
  const answer = await startRun(rootId);
  if (answer?.success === false) showError(new Error(answer.message ?? answer.status));
  await openTree(answer?.root_task_id ?? rootId);
  await loadList();
}

$('execute').addEventListener(
  'click',
  act(() => execute(state.rootId)),
);
$('cancel').addEventListener(
  'click',
  act(async () => {
    const [answer] = await rpc('tasks.cancel', { task_ids: [state.rootId] });
    if (answer?.status !== 'cancelled') throw new Error(answer?.message ?? 'not cancelled');
  }),
);
$('copy').addEventListener(
  'click',
  act(async () => {
    const copy = await rpc('tasks.copy', { task_id: state.rootId });
    await loadList();
    await openTree(copy.id);
  }),
);
$('run-example').addEventListener(
  'click',
  act(() => execute('example-system-info')),
);
$('new-tree').addEventListener('click', () => $('paste').showModal());
$('paste-form').addEventListener(
  'submit',
  act(async (event) => {
    if (event.submitter?.value !== 'run') return;
    let tasks;
    try {
      tasks = JSON.parse(new FormData($('paste-form')).get('tasks'));
    } catch (error) {
      throw new Error(`The tasks array is not JSON: ${error.message}`);
    }
    const tree = await rpc('tasks.create', tasks);
    await execute(tree.id);
  }),
);

const schedules = createSchedulesView({ act, showError });

/** Shows the trees (list, tree view, task panel) or the schedules. */
function showView(name) {
  const onSchedules = name === 'schedules';
  for (const id of ['trees', 'view', 'panel']) $(id).hidden = onSchedules;
  $('schedules').hidden = !onSchedules;
  $('to-trees').setAttribute('aria-pressed', String(!onSchedules));
  $('to-schedules').setAttribute('aria-pressed', String(onSchedules));
  if (!onSchedules) schedules.hide();
}

/** The tree the address names (`/ui#tree=<id>`): a link to a tree opens it. */
const linked = () => new URLSearchParams(location.hash.slice(1)).get('tree');
/** `/ui#schedules` (`#schedules=<id>`: one selected) shows the schedules; otherwise the trees and the linked tree. */
async function route() {
  const address = new URLSearchParams(location.hash.slice(1));
  if (address.has('schedules')) {
    showView('schedules');
    return schedules.show(address.get('schedules') || null);
  }
  const back = !$('schedules').hidden;
  showView('trees');
  const wanted = linked();
  if (wanted && wanted !== state.rootId) await openTree(wanted);
  if (back) await loadList();
}
window.addEventListener('hashchange', act(route));
$('to-schedules').addEventListener('click', () => (location.hash = schedules.address()));
$('to-trees').addEventListener(
  'click',
  () => (location.hash = state.rootId ? `tree=${encodeURIComponent(state.rootId)}` : ''),
);

async function start() {
  $('app').hidden = false;
  await loadList();
  await route();
}
act(start)();
