/** Model-name prefixes (`openai/gpt-4`) naming their provider. */
const PREFIXES = [
  'openai',
  'anthropic',
  'google',
  'gemini',
  'mistral',
  'groq',
  'cohere',
  'azure',
  'ollama',
  'together',
  'deepinfra',
  'openrouter',
  'xai',
  'deepseek',
];

/** Patterns of bare model names, in the original's order (reference/original-apflow.md §8). */
const PATTERNS: [RegExp, string][] = [
  [/^gpt-|^o[134](-|$)|^chatgpt|^text-embedding/, 'openai'],
  [/claude/, 'anthropic'],
  [/gemini|palm/, 'google'],
  [/^command/, 'cohere'],
  [/mistral|mixtral|codestral/, 'mistral'],
  [/llama|gemma/, 'groq'],
  [/^grok/, 'xai'],
  [/deepseek/, 'deepseek'],
];

/**
 * The provider of a model name: its `provider/` prefix when known (`gemini/…` is `google`), else
 * the pattern its name matches, else `openai`.
 */
export function detectProvider(model: string | undefined): string {
  const name = (model ?? '').trim().toLowerCase();
  const slash = name.indexOf('/');
  if (slash > 0) {
    const prefix = name.slice(0, slash);
    if (PREFIXES.includes(prefix)) return prefix === 'gemini' ? 'google' : prefix;
  }
  const bare = slash > 0 ? name.slice(slash + 1) : name;
  return PATTERNS.find(([pattern]) => pattern.test(bare))?.[1] ?? 'openai';
}
