// Node module-loader hook (runs in the loader thread). A file imported with `?apflow-v=N`
// passes the same query on to the local files it imports, so a reloaded executor or plugin
// gets fresh copies of its own helper modules, while packages under node_modules and apflow's
// own kernel stay shared and are not loaded again.
const PARAM = 'apflow-v';
const KERNEL = new URL('../', import.meta.url).href;

/**
 * @param {string} specifier
 * @param {{ parentURL?: string }} context
 * @param {(specifier: string, context: object) => Promise<{ url: string }>} nextResolve
 */
export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  const parent = context.parentURL;
  if (!parent || !parent.includes(`${PARAM}=`)) return resolved;
  const { url } = resolved;
  if (!url.startsWith('file:') || url.includes('/node_modules/') || url.startsWith(KERNEL)) return resolved;
  const version = new URL(parent).searchParams.get(PARAM);
  if (version === null) return resolved;
  const fresh = new URL(url);
  fresh.searchParams.set(PARAM, version);
  return { ...resolved, url: fresh.href };
}
