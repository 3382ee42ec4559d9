/**
 * `text` with the base64url character at `at` replaced by another: a forged signature or MAC.
 * Change one inside the value, not its last: a last character may carry padding bits that a
 * decoder ignores, so changing it can leave the bytes as they were.
 */
export function withCharacterChanged(text: string, at: number): string {
  return `${text.slice(0, at)}${text[at] === 'A' ? 'B' : 'A'}${text.slice(at + 1)}`
}
