// The task panel: what the server stored of one task, as text (never as HTML).

const text = (tag, value) => Object.assign(document.createElement(tag), { textContent: value });

/** Shows `task` (a task as the API gives it) in `container`. */
export function renderTaskPanel(container, task) {
  const executor = task.params?.executor_id ?? task.schemas?.method ?? task.name;
  const rows = [
    ['id', task.id],
    ['name', task.name],
    ['status', task.status],
    ['progress', `${Math.round((task.progress ?? 0) * 100)}%`],
    ['executor', executor],
    ['user', task.user_id ?? '—'],
    ['created', task.created_at],
    ['started', task.started_at],
    ['completed', task.completed_at],
    ['updated', task.updated_at],
  ];
  const dl = document.createElement('dl');
  for (const [name, value] of rows) dl.append(text('dt', name), text('dd', value ?? '—'));
  container.textContent = '';
  container.append(dl);
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
