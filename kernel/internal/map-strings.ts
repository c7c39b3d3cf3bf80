/**
 * A JSON value with every string inside it (objects and arrays walked; with `keys`, object keys
 * too) replaced by `change(string)`. Parts where nothing changed are returned as they are, so an
 * unchanged value is the very same object.
 */
export function mapStrings(
  value: unknown,
  change: (text: string) => string,
  options: { keys?: boolean } = {},
): unknown {
  if (typeof value === 'string') return change(value);
  if (Array.isArray(value)) {
    const items = value.map((item) => mapStrings(item, change, options));
    return items.some((item, index) => item !== value[index]) ? items : value;
  }
  if (value === null || typeof value !== 'object') return value;
  let changed = false;
  const entries = Object.entries(value).map(([key, item]) => {
    const next: [string, unknown] = [options.keys ? change(key) : key, mapStrings(item, change, options)];
    if (next[0] !== key || next[1] !== item) changed = true;
    return next;
  });
  return changed ? Object.fromEntries(entries) : value;
}
