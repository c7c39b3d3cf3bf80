// The dashboard: trees list (tree-list.js), tree view or its timeline (run-log.js, timeline-view.js,
// tree-head.js), task panel (with the answer form of a task waiting for input), actions, and the
// schedules view. Everything goes through the server's public API (api.js), so with authentication
// on a user sees exactly what the API lets them see.
import { follow, login, rpc, ServerError, startRun, token } from './ui?asset=api.js';
import { createRunLog } from './ui?asset=run-log.js';
import { createSchedulesView } from './ui?asset=schedules-view.js';
import { renderTaskPanel } from './ui?asset=task-panel.js';
import { createTimelineView } from './ui?asset=timeline-view.js';
import { createTreeHead } from './ui?asset=tree-head.js';
import { createTreeList } from './ui?asset=tree-list.js';
import { createTreeView } from './ui?asset=tree-view.js';

const $ = (id) => document.getElementById(id);
const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
const state = { rootId: null, root: null, tasks: new Map(), stop: null, selected: null };

const view = createTreeView($('canvas'), (id) => select(id));
const log = createRunLog();
const timeline = createTimelineView($('timeline'), { lay: (root) => log.lay(root), onSelect: (id) => select(id) });
const head = createTreeHead({ log, timeline, state, counts: () => treeCounts() });

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

const list = createTreeList({
  act,
  current: () => state.rootId,
  // A task waiting for an answer (the `input_required` filter lists them) opens with its question.
  async open(task) {
    await openTree(task.id);
    if (task.status === 'input_required') select(task.id);
  },
});

const flatten = (task, into = new Map()) => {
  into.set(task.id, task);
  for (const child of task.children ?? []) flatten(child, into);
  return into;
};

/** How many trees were asked for: a snapshot asked for before the latest is dropped when it comes. */
let opened = 0;
/** Shows the tree of `rootId` (a fresh snapshot) and follows its events live. */
async function openTree(rootId) {
  const mine = ++opened;
  // A refresh of the tree shown so far, still waiting for its burst to end, is not wanted now.
  clearTimeout(refreshing);
  const root = await rpc('tasks.tree', { task_id: rootId });
  // Another tree was asked for while this one was fetched: the later choice is the one shown.
  if (mine !== opened) return;
  showView('trees');
  state.stop?.();
  state.rootId = root.id;
  state.root = root;
  state.tasks = flatten(root);
  $('tree-title').textContent = root.name;
  view.render(root);
  // The socket replays the tree's event log from its start: the timeline is drawn from it.
  log.reset();
  timeline.render(root);
  buttons();
  if (state.selected && state.tasks.has(state.selected)) panel(state.selected);
  else $('panel').innerHTML = '<p class="muted">Click a task to see it.</p>';
  list.mark(root.id);
  state.stop = follow(root.id, onEvent, (live) => $('live').classList.toggle('on', live));
  if (linked() !== root.id) history.replaceState(null, '', `#tree=${encodeURIComponent(root.id)}`);
}

/** A snapshot again, once the burst of events that called for it is over. */
let refreshing = 0;
/** How many snapshots the refreshes asked for: one asked for before the latest is dropped when it comes. */
let refreshes = 0;
const refresh = () => {
  clearTimeout(refreshing);
  refreshing = setTimeout(
    act(async () => {
      const [shown, rootId, mine] = [opened, state.rootId, ++refreshes];
      const root = await rpc('tasks.tree', { task_id: rootId });
      // A tree opened while this snapshot was fetched, or asked for before it (its snapshot still
      // on the way when this one was asked for): this one is not the shown tree's any more. And a
      // later refresh asked meanwhile holds a newer snapshot of it: this one, answered late, is older.
      if (shown !== opened || state.rootId !== rootId || mine !== refreshes) return;
      const fresh = flatten(root);
      // Tasks spawned at run time (or dropped by a new run): the tree changed shape, drawn again.
      const reshaped = fresh.size !== state.tasks.size || [...fresh.keys()].some((id) => !view.has(id));
      [state.root, state.tasks] = [root, fresh];
      timeline.render(root, reshaped);
      if (reshaped) view.render(root);
      else
        for (const [id, task] of fresh)
          view.update(id, { status: task.status, progress: task.progress, waiting: task.waiting?.kind ?? '' });
      buttons();
      if (state.selected) panel(state.selected);
      await list.load();
    }),
    150,
  );
};

function onEvent(event) {
  if (event.root_task_id !== state.rootId) return;
  log.add(event);
  timeline.changed();
  const task = state.tasks.get(event.task_id);
  // A task spawned since the snapshot: a fresh one shows it.
  if (!task) return refresh();
  // The log replays older runs too: only what is newer than the snapshot changes a node.
  if (task.updated_at && event.timestamp < task.updated_at) return;
  Object.assign(task, { status: event.status, progress: event.progress, updated_at: event.timestamp });
  if (event.result !== undefined) task.result = event.result;
  if (event.error !== undefined) task.error = event.error;
  // Only a `task_waiting` event says what a task waits for; any later event of it means it waits no more.
  if (event.type === 'task_waiting') task.waiting = event.waiting;
  else delete task.waiting;
  view.update(task.id, { status: task.status, progress: task.progress, waiting: task.waiting?.kind ?? '' });
  if (state.selected === task.id) panel(task.id);
  buttons();
  // A task that ended may have made LLM calls: the snapshot has its token usage.
  const ended = state.selected === task.id && TERMINAL.has(task.status);
  if (event.type === 'final' || task.waiting?.kind === 'children' || ended) refresh();
}

/** The shown tree's tasks per status (as `tasks.get` of its root counts them). */
function treeCounts() {
  const counts = { total: 0, completed: 0, failed: 0, cancelled: 0, pending: 0, in_progress: 0, input_required: 0 };
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
    // A parent waits (pending) while its children run: the tree runs while any task runs or waits.
    const running = counts.in_progress > 0 || [...state.tasks.values()].some((task) => task.waiting);
    $('execute').disabled = !root || running;
    $('copy').disabled = !root;
    $('cancel').disabled = !running || TERMINAL.has(root?.status);
    head.update();
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
  renderTaskPanel($('panel'), task, counts, answer, head.timing(id));
}
/** Answers a question (tasks.resume); the task's events then show it run on. */
async function answer(taskId, input) {
  try {
    await rpc('tasks.resume', { task_id: taskId, input });
  } catch (error) {
    if (error instanceof ServerError && error.status === 401) needLogin();
    throw error;
  }
  refresh();
}
function select(id) {
  state.selected = id;
  view.select(id);
  timeline.select(id);
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
  await list.load();
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
    await list.load();
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
  if (back) await list.load();
}
window.addEventListener('hashchange', act(route));
$('to-schedules').addEventListener('click', () => (location.hash = schedules.address()));
$('to-trees').addEventListener(
  'click',
  () => (location.hash = state.rootId ? `tree=${encodeURIComponent(state.rootId)}` : ''),
);

async function start() {
  $('app').hidden = false;
  await list.load();
  await route();
}
act(start)();
