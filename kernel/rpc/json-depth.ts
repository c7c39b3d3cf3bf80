/** The deepest nesting of arrays and objects JSON-RPC params may have. */
export const MAX_PARAMS_DEPTH = 256;

/**
 * Whether `value` nests arrays and objects more than `max` levels deep. Iterative, because
 * the values it guards against are the ones that would overflow the stack of a recursive walk
 * (and of `JSON.stringify` when they are stored or sent back).
 */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [current, depth] = top;
    if (typeof current !== 'object' || current === null) continue;
    if (depth >= max) return true;
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}
