/** The message of a caught value (an Error's message, else its text). */
export function errorText(caught: unknown): string {
  return caught instanceof Error ? caught.message : String(caught);
}
