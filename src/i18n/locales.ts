/** The languages Tessera ships complete (a test holds every catalogue to English's keys). */
export const SUPPORTED_LOCALES = ['en', 'de', 'fr', 'es'] as const

export type Locale = (typeof SUPPORTED_LOCALES)[number]

/** The language of the catalogue every other one is checked against, and the last fallback. */
export const SOURCE_LOCALE: Locale = 'en'

export const isLocale = (value: unknown): value is Locale =>
  typeof value === 'string' && (SUPPORTED_LOCALES as readonly string[]).includes(value)

/** Each language named in itself, as a language chooser shows it. */
export const LOCALE_NAMES: Readonly<Record<Locale, string>> = { en: 'English', de: 'Deutsch', fr: 'Français', es: 'Español' }
