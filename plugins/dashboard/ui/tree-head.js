// The head of the tree shown: the Tree / Timeline toggle, and the tree's totals beside its name
// (how long its latest run took or has been running, its tasks per status, the tokens and cost of
// its LLM calls), kept live while it runs, as is the duration in the panel of the task selected.
import { describeSpan, describeTokens, formatCost, sumUsage } from './ui?asset=run-figures.js';
import { describeCounts, text } from './ui?asset=task-panel.js';

const $ = (id) => document.getElementById(id);
const MODE = 'apflow.view';

/**
 * The head of the tree in `state` (`root`, `tasks`, `selected`): `log` its run log, `timeline` its
 * timeline view (shown instead of the tree view's `#canvas` when toggled), `counts()` its tasks per status.
 */
export function createTreeHead({ log, timeline, state, counts }) {
  let timer = 0;

  const mode = (name) => {
    const onTimeline = name === 'timeline';
    localStorage.setItem(MODE, name);
    $('canvas').hidden = onTimeline;
    timeline.show(onTimeline);
    $('show-tree').setAttribute('aria-pressed', String(!onTimeline));
    $('show-timeline').setAttribute('aria-pressed', String(onTimeline));
  };
  $('show-tree').addEventListener('click', () => mode('tree'));
  $('show-timeline').addEventListener('click', () => mode('timeline'));
  mode(localStorage.getItem(MODE) === 'timeline' ? 'timeline' : 'tree');

  const rowOf = (laid, id) => laid.rows.find((row) => row.task.id === id);

  return {
    /** The duration and attempts of task `id` for its panel. */
    timing(id) {
      return { span: state.root && rowOf(log.lay(state.root), id), attempts: log.attempts(id) };
    },
    /** The totals again (and each second while the tree runs, with the selected task's duration). */
    update() {
      clearTimeout(timer);
      const totals = $('tree-totals');
      totals.textContent = '';
      if (!state.root) return;
      const laid = log.lay(state.root);
      const usage = state.root.tree_token_usage ?? sumUsage([...state.tasks.values()].map((task) => task.token_usage));
      const parts = [
        ['duration', describeSpan({ ...laid, open: laid.live }, laid.live ? 'in_progress' : '')],
        ['counts', describeCounts(counts())],
        ...(usage
          ? [
              ['tokens', `${usage.total.toLocaleString()} tokens`],
              ['cost', formatCost(usage.cost_usd)],
            ]
          : []),
      ];
      for (const [field, value] of parts) {
        const span = text('span', value);
        span.dataset.field = field;
        if (field === 'tokens') span.title = describeTokens(usage);
        totals.append(span);
      }
      const shown = document.querySelector('#panel dd[data-field="duration"]');
      const row = state.selected && rowOf(laid, state.selected);
      if (shown && row) shown.textContent = describeSpan(row, row.task.status);
      if (laid.live) timer = setTimeout(() => this.update(), 1000);
    },
  };
}
