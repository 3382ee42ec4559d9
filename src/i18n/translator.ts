/**
 * Words for one language: ICU messages formatted with intl-messageformat (plurals through
 * Intl.PluralRules, dates through Intl.DateTimeFormat). A key missing in a language falls back to
 * English (a test keeps that from shipping); a key missing in English is a programming error and
 * throws, so a test rendering the page finds it.
 */
import { IntlMessageFormat } from 'intl-messageformat'
import type { Catalogues } from './catalogue.js'
import { SOURCE_LOCALE, SUPPORTED_LOCALES, type Locale } from './locales.js'

export type MessageValues = Readonly<Record<string, string | number>>

export interface Translator {
  readonly locale: Locale
  /** Plain text (a page escapes it like any value). */
  t(key: string, values?: MessageValues): string
  /**
   * HTML for messages that emphasise a part (`to continue to <strong>{client}</strong>`): every
   * value is escaped, and only <strong>, <em> and <code> are allowed in the message.
   */
  rich(key: string, values?: MessageValues): string
  /** A moment (epoch seconds) as people of this language write it, in UTC unless a zone is given. */
  dateTime(epochSeconds: number, timeZone?: string): string
}

export interface I18n {
  readonly defaultLocale: Locale
  translator(locale: Locale): Translator
}

const escapeHtml = (value: string): string =>
  value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

const RICH_TAGS = ['strong', 'em', 'code'] as const
const richHandlers = Object.fromEntries(RICH_TAGS.map((tag) => [tag, (chunks: unknown[]) => `<${tag}>${chunks.join('')}</${tag}>`]))

export function createI18n(catalogues: Catalogues, defaultLocale: Locale): I18n {
  const english = catalogues.get(SOURCE_LOCALE)!
  const translators = new Map<Locale, Translator>()
  for (const locale of SUPPORTED_LOCALES) {
    const catalogue = catalogues.get(locale)!
    const plain = new Map<string, IntlMessageFormat>()
    const rich = new Map<string, IntlMessageFormat>()
    const compiled = (cache: Map<string, IntlMessageFormat>, key: string, ignoreTag: boolean): IntlMessageFormat => {
      let format = cache.get(key)
      if (format === undefined) {
        const inLocale = catalogue.get(key)
        const message = inLocale ?? english.get(key)
        if (message === undefined) throw new Error(`no message "${key}" in the catalogues`)
        format = new IntlMessageFormat(message, inLocale === undefined ? SOURCE_LOCALE : locale, undefined, { ignoreTag })
        cache.set(key, format)
      }
      return format
    }
    const dates = new Map<string, Intl.DateTimeFormat>()
    translators.set(locale, {
      locale,
      t: (key, values) => String(compiled(plain, key, true).format(values)),
      rich: (key, values) => {
        const escaped = Object.fromEntries(
          Object.entries(values ?? {}).map(([name, value]) => [name, typeof value === 'string' ? escapeHtml(value) : value]),
        )
        const parts = compiled(rich, key, false).format<string>({ ...escaped, ...richHandlers })
        return Array.isArray(parts) ? parts.join('') : String(parts)
      },
      dateTime: (epochSeconds, timeZone = 'UTC') => {
        let format = dates.get(timeZone)
        if (format === undefined) {
          // The zone is named ("… 17:05 UTC"): pages are read in every time zone, and a bare time misleads.
          format = new Intl.DateTimeFormat(locale, {
            year: 'numeric',
            month: 'short',
            day: 'numeric',
            hour: 'numeric',
            minute: '2-digit',
            timeZone,
            timeZoneName: 'short',
          })
          dates.set(timeZone, format)
        }
        return format.format(new Date(epochSeconds * 1000))
      },
    })
  }
  return { defaultLocale, translator: (locale) => translators.get(locale)! }
}
