// The task panel: what the server stored of one task, as text (never as HTML); for a task
// waiting for input, its question and the answer form.
import { answerForm, describeWait } from './ui?asset=input-form.js';
import { describeModels, describeSpan, describeTokens, formatCost } from './ui?asset=run-figures.js';

/** An element `tag` showing `value` as text (never as HTML): how the page shows what the server says. */
export const text = (tag, value) => Object.assign(document.createElement(tag), { textContent: value });

const ORDER = ['completed', 'failed', 'cancelled', 'in_progress', 'input_required', 'pending'];

/** `11 tasks: 5 completed, 6 failed` (the statuses with tasks only). */
export function describeCounts(counts) {
  const parts = ORDER.filter((status) => counts[status] > 0).map(
    (status) => `${counts[status]} ${status.replace('_', ' ')}`,
  );
  return `${counts.total} task${counts.total === 1 ? '' : 's'}: ${parts.join(', ') || 'none'}`;
}

/** The panel's rows of a task's LLM calls (`token_usage`: tokens, cost, per model), none without. */
const usageRows = (usage) =>
  usage
    ? [
        ['tokens', describeTokens(usage)],
        ['cost', formatCost(usage.cost_usd)],
        ['models', describeModels(usage).join('\n')],
      ]
    : [];

/**
 * Shows `task` (a task as the API gives it) in `container`; for a root, `counts` (its tree's tasks
 * per status, as `tasks.get` of a root gives them) too: a root can complete with failed tasks under it.
 * A task waiting for input gets its question and a form whose answer goes to `onAnswer(taskId, input)`.
 * `timing` is its row of the timeline (`span`: start, end, open) and its `attempts` in the latest run.
 */
export function renderTaskPanel(container, task, counts = task.counts, onAnswer = undefined, timing = {}) {
  const waiting = task.waiting;
  const executor = task.params?.executor_id ?? task.schemas?.method ?? task.name;
  const span = timing.span ?? {
    start: Date.parse(task.started_at),
    end: task.completed_at ? Date.parse(task.completed_at) : Date.now(),
    open: !task.completed_at,
  };
  const rows = [
    ['id', task.id],
    ['name', task.name],
    ['status', task.status],
    ...(counts ? [['tasks', describeCounts(counts)]] : []),
    ...(waiting ? [['waiting', describeWait(waiting)]] : []),
    ['progress', `${Math.round((task.progress ?? 0) * 100)}%`],
    ['duration', describeSpan(span, task.status)],
    ...(timing.attempts ? [['attempts', String(timing.attempts)]] : []),
    ...usageRows(task.token_usage),
    ['executor', executor],
    ['user', task.user_id ?? '—'],
    ['created', task.created_at],
    ['started', task.started_at],
    ['completed', task.completed_at],
    ['updated', task.updated_at],
  ];
  const dl = document.createElement('dl');
  for (const [name, value] of rows) {
    const dd = text('dd', value ?? '—');
    if (name === 'tasks') {
      dd.dataset.field = 'counts';
      dd.classList.toggle('warn', counts.failed > 0);
    }
    if (['waiting', 'duration', 'attempts', 'tokens', 'cost', 'models'].includes(name)) dd.dataset.field = name;
    dl.append(text('dt', name), dd);
  }
  // Events redraw the panel: a form being filled in for the same question stays as it is.
  const kept = container.querySelector('form.answer');
  container.textContent = '';
  container.append(dl);
  if (waiting?.kind === 'input') {
    const prompt = text('p', waiting.prompt);
    prompt.dataset.field = 'prompt';
    container.append(text('h4', 'question'), prompt);
    if (waiting.timeout_at) {
      const then = waiting.has_default ? 'then the default answer' : 'then the task fails';
      container.append(text('p', `Answer by ${new Date(waiting.timeout_at).toLocaleString()} (${then}).`));
    }
    const same = kept?.dataset.task === task.id && kept.dataset.key === waiting.key;
    if (onAnswer) container.append(same ? kept : answerForm(task, onAnswer));
  }
  for (const [name, value] of [
    ['inputs', task.inputs],
    ['params', task.params],
    ['result', task.result],
    ['error', task.error],
  ]) {
    if (value === null || value === undefined) continue;
    const pre = text('pre', typeof value === 'string' ? value : JSON.stringify(value, null, 2));
    pre.dataset.field = name;
    container.append(text('h4', name), pre);
  }
}
