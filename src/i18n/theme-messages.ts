/**
 * A theme's words: THEME_DIR/messages/<language>/<area>.json, in the layout of the built-in
 * catalogues (catalogue.ts). A message named there replaces the built-in one in that language; every
 * other message stays, so a theme changes a word without copying a template or a catalogue. Checked
 * at start against the built-in English message of the same key: the key must exist, the message
 * must be valid ICU, and it may use only placeholders and tags the built-in one has (the page
 * supplies only those values, and a tag outside them would not render).
 */
import { readdirSync } from 'node:fs'
import path from 'node:path'
import { readCatalogue, type Catalogue, type Catalogues } from './catalogue.js'
import { SOURCE_LOCALE, SUPPORTED_LOCALES, type Locale } from './locales.js'
import { messageShape } from './message-shape.js'

export type ThemeMessages = ReadonlyMap<Locale, Catalogue>

const isLocale = (name: string): name is Locale => (SUPPORTED_LOCALES as readonly string[]).includes(name)

/** The theme's messages per language; an Error naming the file and the message for anything wrong. */
export function readThemeMessages(folder: string, builtIn: Catalogues): ThemeMessages {
  const english = builtIn.get(SOURCE_LOCALE)!
  const messages = new Map<Locale, Catalogue>()
  for (const entry of readdirSync(folder, { withFileTypes: true }).filter((e) => !e.name.startsWith('.'))) {
    if (!entry.isDirectory() || !isLocale(entry.name))
      throw new Error(`messages/${entry.name} is not a folder of a supported language (${SUPPORTED_LOCALES.join(', ')})`)
    const catalogue = readCatalogue(path.join(folder, entry.name))
    for (const [key, message] of catalogue) {
      const where = `messages/${entry.name}: "${key}"`
      const original = english.get(key)
      if (original === undefined) throw new Error(`${where} is not a built-in message (see src/i18n/messages/en/)`)
      let shape: string[]
      try {
        shape = messageShape(message)
      } catch (error) {
        throw new Error(`${where} is not a valid ICU message (${error instanceof Error ? error.message : String(error)})`)
      }
      const allowed = new Set(messageShape(original))
      const extra = shape.filter((part) => !allowed.has(part))
      if (extra.length > 0) throw new Error(`${where} uses ${extra.join(', ')}, which the built-in message does not have`)
    }
    messages.set(entry.name, catalogue)
  }
  return messages
}

/** The built-in catalogues with the theme's messages in their place. */
export function withThemeMessages(builtIn: Catalogues, theme: ThemeMessages | undefined): Catalogues {
  if (theme === undefined || theme.size === 0) return builtIn
  return new Map(SUPPORTED_LOCALES.map((locale) => [locale, new Map([...builtIn.get(locale)!, ...(theme.get(locale) ?? [])])]))
}
