/**
 * Email addresses as account identifiers (RFC 8265 §3.3, the PRECIS UsernameCaseMapped profile,
 * applied to the local part; RFC 5891 IDNA for the domain). Two spellings a person cannot tell
 * apart must be one account: the stored and compared form is the canonical one below, and new
 * addresses that could only be told apart by script mixing are refused.
 */
import { domainToASCII, domainToUnicode } from 'node:url'

export const MAX_EMAIL_LENGTH = 320

/** RFC 8265 §3.3.2 width mapping: fullwidth and halfwidth forms become their ordinary characters. */
const WIDE_OR_NARROW = /[\u3000\uff00-\uffef]/g
const mapWidth = (value: string): string => value.replace(WIDE_OR_NARROW, (character) => character.normalize('NFKC'))

/**
 * The canonical form used for storing, comparing and throttling: trimmed, width-mapped, lower
 * case, Unicode NFC; the domain in IDNA ASCII form without a trailing dot. Never throws: input
 * that is not an address at all is returned in the same mapped form (and matches no account).
 */
export function normaliseEmail(raw: string): string {
  const mapped = mapWidth(raw.trim()).toLowerCase().normalize('NFC')
  const at = mapped.lastIndexOf('@')
  if (at < 0) return mapped
  const domain = mapped.slice(at + 1).replace(/\.$/, '')
  const ascii = domain === '' ? '' : domainToASCII(domain)
  return `${mapped.slice(0, at)}@${ascii === '' ? domain : ascii}`
}

/** Scripts that may share one label (UTS #39 "highly restrictive"): Latin with the CJK writing systems. */
const ALLOWED_SCRIPT_MIXES: readonly ReadonlySet<string>[] = [
  new Set(['Latin', 'Han', 'Hiragana', 'Katakana']),
  new Set(['Latin', 'Han', 'Bopomofo']),
  new Set(['Latin', 'Han', 'Hangul']),
]

const SCRIPTS = [
  'Latin',
  'Greek',
  'Cyrillic',
  'Armenian',
  'Hebrew',
  'Arabic',
  'Syriac',
  'Thaana',
  'Devanagari',
  'Bengali',
  'Gurmukhi',
  'Gujarati',
  'Oriya',
  'Tamil',
  'Telugu',
  'Kannada',
  'Malayalam',
  'Sinhala',
  'Thai',
  'Lao',
  'Tibetan',
  'Myanmar',
  'Georgian',
  'Hangul',
  'Ethiopic',
  'Cherokee',
  'Khmer',
  'Mongolian',
  'Hiragana',
  'Katakana',
  'Bopomofo',
  'Han',
].map((name) => [name, new RegExp(`^\\p{Script=${name}}$`, 'u')] as const)
const SCRIPT_NEUTRAL = /^[\p{Script=Common}\p{Script=Inherited}]$/u

/** The scripts of a piece of text, ignoring digits, punctuation and combining marks. */
export function scriptsOf(text: string): ReadonlySet<string> {
  const found = new Set<string>()
  for (const character of text) {
    if (SCRIPT_NEUTRAL.test(character)) continue
    found.add(SCRIPTS.find(([, pattern]) => pattern.test(character))?.[0] ?? 'Other')
  }
  return found
}

/** True when `text` mixes scripts in a way that makes look-alikes possible (e.g. Latin with Cyrillic). */
export function isMixedScript(text: string): boolean {
  const scripts = scriptsOf(text)
  if (scripts.size <= 1) return false
  return !ALLOWED_SCRIPT_MIXES.some((allowed) => [...scripts].every((script) => allowed.has(script)))
}

const CONTROL_OR_SPACE = /[\s\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]/u

/** Why an address cannot be used: a stable code that pages translate (`signup.problem.email_<code>`). */
export type EmailProblem = 'malformed' | 'invisible' | 'trailing_dot' | 'bad_domain' | 'mixed_local' | 'mixed_domain'

/**
 * Why an address cannot be used for a new account (signup, `idp users add`); null when it can.
 * Checked on the address as typed, then on its canonical form.
 */
export function emailAddressProblemCode(raw: string): EmailProblem | null {
  const typed = raw.trim()
  if (typed.length === 0 || typed.length > MAX_EMAIL_LENGTH) return 'malformed'
  if (CONTROL_OR_SPACE.test(typed)) return 'invisible'
  const canonical = normaliseEmail(typed)
  const at = canonical.lastIndexOf('@')
  const local = canonical.slice(0, at)
  const typedDomain = mapWidth(typed).slice(mapWidth(typed).lastIndexOf('@') + 1)
  if (at <= 0 || local.includes('@') || local.length > 64) return 'malformed'
  if (typedDomain.endsWith('.')) return 'trailing_dot'
  const domain = canonical.slice(at + 1)
  if (
    domainToASCII(domain) === '' ||
    !/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(domain) ||
    domain.split('.').some((label) => label.startsWith('-') || label.endsWith('-'))
  ) {
    return 'bad_domain'
  }
  if (isMixedScript(local)) return 'mixed_local'
  // Judged in Unicode: an xn-- label hides its letters.
  if (
    domainToUnicode(domain)
      .split('.')
      .some((label) => isMixedScript(label))
  )
    return 'mixed_domain'
  return null
}

const ENGLISH: Readonly<Record<EmailProblem, string>> = {
  malformed: 'Enter an email address like name@example.com.',
  invisible: 'An email address cannot contain spaces or invisible characters.',
  trailing_dot: 'Remove the dot at the end of the address.',
  bad_domain: 'The part after @ is not a valid domain name.',
  mixed_local: 'The part before @ mixes alphabets (for example Latin and Cyrillic letters); use one.',
  mixed_domain: 'The domain mixes alphabets (for example Latin and Cyrillic letters).',
}

/** emailAddressProblemCode in English words, for a CLI line or the admin API; null when the address can be used. */
export function emailAddressProblem(raw: string): string | null {
  const problem = emailAddressProblemCode(raw)
  return problem === null ? null : ENGLISH[problem]
}
