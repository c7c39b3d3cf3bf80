import { loadOnce } from 'apflow';

/**
 * The Vercel AI SDK (`ai`), imported when a model is first called or an agent's tools are first
 * built. Demo runs and a server that never calls a model do not load it.
 */
// Not imported at start: the SDK adds some 20 MB and a few hundred ms to every server's start-up.
export const loadAi = loadOnce(() => import('ai'));
