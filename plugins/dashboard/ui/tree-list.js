// The trees list: roots, newest first, filtered by status and user, 20 a page. Filtered on
// `input_required` it lists the tasks waiting for an answer, wherever they are in their trees.
import { rpc } from './ui?asset=api.js';
import { formatCost, formatDuration } from './ui?asset=run-figures.js';

const $ = (id) => document.getElementById(id);
const PAGE = 20;

/**
 * The list in `#tree-list` with its filters and pager: `open(task)` hears a click on an item,
 * `act` wraps every handler (its failure is shown), `current()` is the root shown.
 */
export function createTreeList({ act, open, current }) {
  let offset = 0;

  async function load() {
    const status = $('status-filter').value;
    const params = { root_only: status !== 'input_required', limit: PAGE + 1, offset };
    if (status) params.status = status;
    if ($('user-filter').value.trim()) params.user_id = $('user-filter').value.trim();
    const rows = await rpc('tasks.list', params);
    const list = $('tree-list');
    list.textContent = '';
    for (const task of rows.slice(0, PAGE)) {
      const item = document.createElement('li');
      item.dataset.id = task.id;
      item.classList.toggle('current', task.id === current());
      item.innerHTML =
        '<span class="name"></span><span class="figure" data-field="duration" title="duration"></span>' +
        '<span class="figure" data-field="cost" title="cost of its LLM calls"></span><span class="badge"></span><small></small>';
      item.querySelector('.name').textContent = task.name;
      // A parent starts once its children ended: a tree began at its tasks' earliest start.
      const start = task.has_children ? task.tree_started_at : task.started_at;
      item.querySelector('[data-field="duration"]').textContent =
        start && task.completed_at ? formatDuration(Date.parse(task.completed_at) - Date.parse(start)) : '';
      const usage = task.tree_token_usage ?? task.token_usage;
      item.querySelector('[data-field="cost"]').textContent =
        typeof usage?.cost_usd === 'number' ? formatCost(usage.cost_usd) : '';
      item.querySelector('.badge').textContent = task.status;
      item.querySelector('.badge').className = `badge s-${task.status}`;
      const said = [task.user_id ?? 'no user', new Date(task.created_at).toLocaleString()];
      if (task.waiting?.kind === 'input') said.unshift(task.waiting.prompt);
      item.querySelector('small').textContent = said.join(' · ');
      item.addEventListener(
        'click',
        act(() => open(task)),
      );
      list.append(item);
    }
    $('page').textContent = `${offset + 1}–${offset + Math.min(rows.length, PAGE)}`;
    $('prev').disabled = offset === 0;
    $('next').disabled = rows.length <= PAGE;
  }

  const reload = (at) => act(() => ((offset = at()), load()));
  $('prev').addEventListener(
    'click',
    reload(() => Math.max(0, offset - PAGE)),
  );
  $('next').addEventListener(
    'click',
    reload(() => offset + PAGE),
  );
  $('status-filter').addEventListener(
    'change',
    reload(() => 0),
  );
  $('user-filter').addEventListener(
    'change',
    reload(() => 0),
  );

  return {
    load,
    /** Marks the item of the root shown. */
    mark(rootId) {
      for (const item of $('tree-list').children) item.classList.toggle('current', item.dataset.id === rootId);
    },
  };
}
