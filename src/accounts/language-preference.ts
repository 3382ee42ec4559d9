/**
 * The language a user chooses for Tessera's pages on the account page (issue 19): one of
 * SUPPORTED_LOCALES, or none, which leaves it to the browser (i18n/negotiate.ts has the whole
 * order). Not a security event, like a change of name from the account page.
 */
import type { Deps } from '../deps.js'
import { isLocale, type Locale } from '../i18n/locales.js'
import type { User } from '../model/user.js'

export type LanguageChoice =
  | { readonly ok: true; readonly locale: Locale | null }
  /** Not a supported language: nothing was changed. */
  | { readonly ok: false; readonly problem: 'unsupported_locale' }

/** `choice`: a supported language's code, or '' to follow the browser again. */
export async function setPreferredLanguage(
  deps: Pick<Deps, 'repos' | 'clock'>,
  user: Pick<User, 'id'>,
  choice: string,
): Promise<LanguageChoice> {
  const locale = choice === '' ? null : isLocale(choice) ? choice : undefined
  if (locale === undefined) return { ok: false, problem: 'unsupported_locale' }
  await deps.repos.users.setLocale(user.id, locale, deps.clock.now())
  return { ok: true, locale }
}
