// How the page words a run's figures: durations, token counts and costs (the `token_usage` and
// `tree_token_usage` the API adds to tasks that made LLM calls).

/** `850 ms`, `1.25 s`, `12.5 s`, `3 min 5 s`, `2 h 10 min`. */
export function formatDuration(ms) {
  if (!Number.isFinite(ms)) return '';
  const value = Math.max(0, Math.round(ms));
  if (value < 1000) return `${value} ms`;
  if (value < 60_000) return `${(value / 1000).toFixed(value < 10_000 ? 2 : 1)} s`;
  const seconds = Math.floor(value / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor(seconds / 60) % 60} min`;
}

/** US dollars, with the digits a small cost needs: `$1.25`, `$0.0123`, `$0.00045`; `null`: no known price. */
export function formatCost(usd) {
  if (typeof usd !== 'number') return 'no price';
  if (usd === 0 || usd >= 1) return `$${usd.toFixed(2)}`;
  return `$${usd >= 0.01 ? usd.toFixed(4) : usd.toPrecision(2)}`;
}

const count = (n) => Number(n ?? 0).toLocaleString();

/** `1,500 tokens (1,000 in, 500 out; 1 call)`. */
export function describeTokens(usage) {
  const calls = `${count(usage.calls)} call${usage.calls === 1 ? '' : 's'}`;
  return `${count(usage.total)} tokens (${count(usage.input)} in, ${count(usage.output)} out; ${calls})`;
}

/** `openai/gpt-4o-mini: 1,500 tokens, $0.00045` per model, the most tokens first. */
export const describeModels = (usage) =>
  Object.entries(usage.by_model ?? {})
    .sort(([, a], [, b]) => b.total - a.total)
    .map(([model, part]) => `${model}: ${count(part.total)} tokens, ${formatCost(part.cost_usd)}`);

const add = (into, part) => {
  for (const key of ['input', 'output', 'total', 'calls']) into[key] = (into[key] ?? 0) + (part[key] ?? 0);
  // As the server sums them: no price for any call is null, else the sum of the known ones.
  if (typeof part.cost_usd === 'number') into.cost_usd = (into.cost_usd ?? 0) + part.cost_usd;
  else into.cost_usd ??= null;
  return into;
};

/** The sum of several `token_usage`s (as `tree_token_usage` sums a tree's); undefined when none. */
export function sumUsage(usages) {
  let sum;
  for (const usage of usages) {
    if (!usage) continue;
    sum = add(sum ?? { by_model: {} }, usage);
    for (const [model, part] of Object.entries(usage.by_model ?? {}))
      sum.by_model[model] = add(sum.by_model[model] ?? {}, part);
  }
  return sum;
}

/** How long a span of the timeline took: `1.25 s`; while open, `running for 1.25 s` (or `… so far` when waiting). */
export function describeSpan(span, status) {
  if (!span || !Number.isFinite(span.start)) return '—';
  const took = formatDuration(span.end - span.start);
  if (!span.open) return took;
  return status === 'in_progress' ? `running for ${took}` : `${took} so far`;
}
