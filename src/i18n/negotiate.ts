/**
 * Which language a page or mail is in. The order (issue 19): OIDC `ui_locales` (Core §3.1.2.1,
 * space-separated BCP 47 tags in order of preference: the first supported one wins), then the
 * user's saved preference, then the browser's `Accept-Language` (RFC 9110 §12.5.4, by q-value),
 * then the configured default. A tag matches a supported language by its primary subtag
 * (`de-AT` reads German), the lookup of RFC 4647 §3.4 cut to one level.
 */
import { isLocale, type Locale } from './locales.js'

export interface LocaleSources {
  readonly uiLocales?: string | null
  readonly preference?: string | null
  readonly acceptLanguage?: string | null
  readonly defaultLocale: Locale
}

/** The supported language a single tag asks for, or null. */
export function matchTag(tag: string): Locale | null {
  const primary = tag.trim().toLowerCase().split(/[-_]/, 1)[0]
  return isLocale(primary) ? primary : null
}

/** ui_locales: space-separated tags; the first supported one, or null. */
export function fromUiLocales(value: string): Locale | null {
  for (const tag of value.split(' ').slice(0, 20)) {
    const locale = tag === '' ? null : matchTag(tag)
    if (locale) return locale
  }
  return null
}

/** Accept-Language: the supported language with the highest q (ties keep header order); q=0 means "not this". */
export function fromAcceptLanguage(header: string): Locale | null {
  let best: { locale: Locale; q: number } | null = null
  for (const part of header.slice(0, 1024).split(',').slice(0, 30)) {
    const [range = '', ...params] = part.split(';')
    const qParam = params.map((param) => param.trim()).find((param) => param.toLowerCase().startsWith('q='))
    const q = qParam === undefined ? 1 : Number(qParam.slice(2))
    if (!Number.isFinite(q) || q <= 0 || q > 1) continue
    const locale = matchTag(range)
    if (locale && (best === null || q > best.q)) best = { locale, q }
  }
  return best?.locale ?? null
}

export function negotiateLocale(sources: LocaleSources): Locale {
  return (
    (sources.uiLocales ? fromUiLocales(sources.uiLocales) : null) ??
    (isLocale(sources.preference) ? sources.preference : null) ??
    (sources.acceptLanguage ? fromAcceptLanguage(sources.acceptLanguage) : null) ??
    sources.defaultLocale
  )
}
