/** Extra environment names some providers' users know best. */
const ALIASES: Record<string, string[]> = {
  google: ['GOOGLE_API_KEY', 'GEMINI_API_KEY', 'GOOGLE_GENERATIVE_AI_API_KEY'],
  gemini: ['GOOGLE_API_KEY', 'GEMINI_API_KEY', 'GOOGLE_GENERATIVE_AI_API_KEY'],
};

/**
 * The environment variables that may hold a provider's key, in order: `<PROVIDER>_API_KEY`
 * (OPENAI_API_KEY, ANTHROPIC_API_KEY, GOOGLE_API_KEY, MISTRAL_API_KEY, GROQ_API_KEY, …), its
 * aliases, `<PROVIDER>_KEY`, then `LLM_API_KEY` (as the original).
 */
export function envNames(provider: string): string[] {
  const upper = provider.toUpperCase().replace(/[^A-Z0-9]/g, '_');
  return [...new Set([`${upper}_API_KEY`, ...(ALIASES[provider] ?? []), `${upper}_KEY`, 'LLM_API_KEY'])];
}
