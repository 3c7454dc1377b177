/**
 * Where a string cut to at most `max` UTF-16 units ends: never between the two halves of a
 * surrogate pair, which apart are each a replacement character once encoded as UTF-8 (the
 * character lost, and a lone surrogate in the log's JSON).
 */
export function cutAt(s: string, max: number): number {
  if (s.length <= max) return s.length;
  const last = s.charCodeAt(max - 1);
  return last >= 0xd800 && last <= 0xdbff ? max - 1 : max;
}

/** `s` cut to at most `max` UTF-16 units (cutAt), saying how long it was where it was cut. */
export function cutNoted(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, cutAt(s, max))}… (cut: ${s.length} characters)` : s;
}
