// The schedules view: the schedules the API lets the user see (trigger, paused or not, next fire,
// counts) and one schedule's upcoming fires and recent runs, each run linking to its tree; Pause,
// Resume and Run now. Everything the server says is shown as text. Refreshed every few seconds
// while shown.
import { rpc, ServerError } from './ui?asset=api.js';
import { text } from './ui?asset=task-panel.js';

const $ = (id) => document.getElementById(id);
const REFRESH_MS = 3000;
const PAGE = 50;
const METHOD_NOT_FOUND = -32601;
const NOT_FOUND = -32004;
const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');

/** How `schedule` fires, in words: `cron 0 9 * * 1 (Europe/Berlin)`, `every 60 s`, `once at …`, `webhook only`. */
function describeTrigger(schedule) {
  const how =
    schedule.trigger === 'cron'
      ? `cron ${schedule.cron} (${schedule.timezone})`
      : schedule.trigger === 'interval'
        ? `every ${schedule.interval_s} s`
        : schedule.trigger === 'once'
          ? `once at ${when(schedule.at)}`
          : 'webhook only';
  return schedule.webhook && schedule.trigger !== 'webhook' ? `${how} · webhook` : how;
}
const nextFire = (schedule) =>
  schedule.next_fire_at ? when(schedule.next_fire_at) : schedule.enabled ? 'none' : '— (paused)';
const ends = ({ max_runs: runs, ends_at: at }) =>
  [runs ? `after ${runs} runs` : '', at ? `at ${when(at)}` : ''].filter(Boolean).join(' or ') || 'never';
const counts = (schedule) => `${schedule.runs} runs · ${schedule.skipped} skipped · ${schedule.missed} missed`;
const badge = (enabled) =>
  Object.assign(text('span', enabled ? 'enabled' : 'paused'), {
    className: `badge s-${enabled ? 'enabled' : 'paused'}`,
  });

/** A row of cells, each a text or an element. */
function row(tag, cells) {
  const tr = document.createElement('tr');
  for (const cell of cells) {
    const td = document.createElement(tag);
    td.append(cell ?? '—');
    tr.append(td);
  }
  return tr;
}

/** The table of a schedule's recent runs (newest first); a run with a tree links to its tree view. */
function runsTable(runs) {
  const table = document.createElement('table');
  table.id = 'schedule-runs';
  table.append(row('th', ['fire time', 'kind', 'state', 'status', 'tree']));
  for (const run of runs) {
    const status = run.status ? Object.assign(text('span', run.status), { className: `badge s-${run.status}` }) : '—';
    let tree = run.error ?? '—';
    if (run.root_task_id) {
      tree = text('a', run.root_task_id);
      tree.href = `#tree=${encodeURIComponent(run.root_task_id)}`;
      tree.dataset.root = run.root_task_id;
    }
    const tr = row('td', [when(run.fire_at), run.kind, run.state, status, tree]);
    Object.assign(tr.dataset, { kind: run.kind, state: run.state });
    tr.title = run.error ?? `fired ${when(run.fired_at)}`;
    table.append(tr);
  }
  return table;
}

/**
 * The schedules view in `#schedules`. `act(work)` wraps an action so its failure is shown;
 * `showError(error)` shows one (a 401 asks for a login). When the server has no schedules plugin
 * (the method is not found) the view says so.
 */
export function createSchedulesView({ act, showError }) {
  let selected = null;
  let current = null;
  let offset = 0;
  let timer = 0;
  let shownList = '';
  let shownDetail = '';
  const visible = () => !document.hidden && !$('schedules').hidden && !$('app').hidden;

  function renderList(rows) {
    const key = JSON.stringify([selected, offset, rows]);
    if (key === shownList) return;
    shownList = key;
    const schedules = rows.slice(0, PAGE);
    $('schedules-page').textContent = `${offset + 1}–${offset + schedules.length}`;
    $('schedules-prev').disabled = offset === 0;
    $('schedules-next').disabled = rows.length <= PAGE;
    const list = $('schedule-list');
    list.textContent = '';
    $('schedules-note').hidden = schedules.length > 0;
    $('schedules-note').textContent = 'No schedules yet (schedules.create, or apflow schedules add).';
    for (const schedule of schedules) {
      const item = document.createElement('li');
      item.dataset.id = schedule.id;
      item.dataset.enabled = String(schedule.enabled);
      item.classList.toggle('current', schedule.id === selected);
      const next = text('small', `next: ${nextFire(schedule)}`);
      next.dataset.field = 'next';
      item.append(
        text('span', schedule.name),
        badge(schedule.enabled),
        text('small', describeTrigger(schedule)),
        next,
        text('small', counts(schedule)),
      );
      item.firstChild.className = 'name';
      item.addEventListener('click', () => (location.hash = `schedules=${encodeURIComponent(schedule.id)}`));
      list.append(item);
    }
  }

  function renderDetail(schedule) {
    $('schedule-pause').hidden = !schedule.enabled;
    $('schedule-resume').hidden = schedule.enabled;
    for (const id of ['schedule-pause', 'schedule-resume', 'schedule-run']) $(id).disabled = false;
    current = schedule;
    const key = JSON.stringify(schedule);
    if (key === shownDetail) return;
    shownDetail = key;
    $('schedule-title').textContent = schedule.name;
    const template = schedule.template_task_id
      ? `copy of tree ${schedule.template_task_id}`
      : `${schedule.tasks?.length ?? 0} stored task(s)`;
    const fields = [
      ['id', schedule.id],
      ['state', badge(schedule.enabled)],
      ['trigger', describeTrigger(schedule)],
      ['next', nextFire(schedule)],
      ['upcoming', (schedule.upcoming ?? []).map(when).join('\n') || '—'],
      ['counts', counts(schedule)],
      ['last fire', when(schedule.last_fire_at)],
      ['overlap', schedule.overlap],
      ['catch up', `${schedule.catch_up} (at most ${schedule.catch_up_max})`],
      ['ends', ends(schedule)],
      ['template', template],
      ['user', schedule.user_id ?? '—'],
      ...(schedule.webhook_url ? [['webhook', schedule.webhook_url]] : []),
    ];
    const dl = document.createElement('dl');
    for (const [name, value] of fields) {
      const dd = document.createElement('dd');
      dd.append(value ?? '—');
      dd.dataset.field = name;
      dl.append(text('dt', name), dd);
    }
    const body = $('schedule-body');
    body.textContent = '';
    const runs = schedule.recent_runs ?? [];
    const none = Object.assign(text('p', 'No runs yet.'), { className: 'muted' });
    body.append(dl, text('h4', 'recent runs'), runs.length ? runsTable(runs) : none);
  }

  function clearDetail(title) {
    shownDetail = '';
    current = null;
    $('schedule-title').textContent = title;
    $('schedule-body').textContent = '';
    for (const id of ['schedule-pause', 'schedule-resume', 'schedule-run']) $(id).disabled = true;
  }

  /** Loads the list and the selected schedule; false when the server has no schedules. */
  async function load() {
    let schedules;
    try {
      schedules = await rpc('schedules.list', { limit: PAGE + 1, offset });
    } catch (error) {
      if (!(error instanceof ServerError && error.code === METHOD_NOT_FOUND)) throw error;
      shownList = '';
      $('schedule-list').textContent = '';
      $('schedules-note').textContent = 'This server has no schedules: its schedules plugin is disabled.';
      $('schedules-note').hidden = false;
      clearDetail('Schedules are off');
      return false;
    }
    renderList(schedules);
    if (!selected) clearDetail('Pick a schedule');
    else
      await rpc('schedules.get', { id: selected }).then(renderDetail, (error) => {
        // Deleted meanwhile (or never there): said once, not at every refresh.
        if (error instanceof ServerError && error.code === NOT_FOUND) {
          selected = null;
          clearDetail('Pick a schedule');
        }
        throw error;
      });
    return true;
  }

  const poll = (delay = REFRESH_MS) => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      let again = true;
      if (visible())
        again = await load().catch((error) => {
          showError(error);
          return true;
        });
      if (again && !$('schedules').hidden) poll();
    }, delay);
  };

  /** Runs `method` on the selected schedule, then shows the schedule as it is now. */
  const command = (method) =>
    act(async () => {
      const answer = await rpc(method, { id: selected });
      await load();
      if (answer?.state === 'skipped')
        throw new Error(`Run now was skipped: the previous run has not ended (overlap: ${current?.overlap})`);
    });
  $('schedule-pause').addEventListener('click', command('schedules.pause'));
  $('schedule-resume').addEventListener('click', command('schedules.resume'));
  $('schedule-run').addEventListener('click', command('schedules.trigger'));
  $('schedules-refresh').addEventListener('click', act(load));
  const turn = (by) => act(() => ((offset = Math.max(0, offset + by)), load()));
  $('schedules-prev').addEventListener('click', turn(-PAGE));
  $('schedules-next').addEventListener('click', turn(PAGE));

  return {
    /** Shows the view with schedule `id` (or none) selected, refreshed while shown. */
    show(id) {
      if (id !== selected) shownDetail = '';
      selected = id;
      poll(0);
    },
    /** The address of the view as it is (`schedules=<id>` with one selected). */
    address: () => (selected ? `schedules=${encodeURIComponent(selected)}` : 'schedules'),
    /** Stops refreshing (the view is hidden). */
    hide() {
      clearTimeout(timer);
    },
  };
}
