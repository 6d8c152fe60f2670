/** Prompt autocomplete: the word at the caret, the vocabulary words it can become, and putting one in. */

/** The word the caret is in (or just after), with where it starts. */
export function currentWord(text: string, caret: number): { word: string; start: number } {
  let start = caret;
  while (start > 0 && /[A-Za-z]/.test(text[start - 1]!)) start--;
  return { word: text.slice(start, caret), start };
}

/** Vocabulary words starting with the typed prefix (case-insensitive), shortest first. Nothing for an empty prefix. */
export function completions(prefix: string, words: readonly string[], max: number): string[] {
  const p = prefix.toLowerCase();
  if (p.length === 0) return [];
  return words
    .filter((w) => w.startsWith(p))
    .sort((a, b) => a.length - b.length || a.localeCompare(b))
    .slice(0, max);
}

/** Replaces the word at the caret with `word` plus a space; returns the new text and caret. */
export function replaceCurrentWord(text: string, caret: number, word: string): { text: string; caret: number } {
  const { start } = currentWord(text, caret);
  let end = caret;
  while (end < text.length && /[A-Za-z]/.test(text[end]!)) end++;
  const after = text.slice(end);
  const sep = after.startsWith(' ') ? '' : ' ';
  const next = text.slice(0, start) + word + sep + after;
  return { text: next, caret: start + word.length + 1 };
}
