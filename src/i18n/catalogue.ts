/**
 * Message catalogues: `messages/<locale>/<area>.json`, each a flat object of ICU messages
 * (plurals and selects in the message, so each language says them its own way). A message's key is
 * `<area>.<name>`. Read once at start; a file that is not such an object stops the start naming it.
 */
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { SUPPORTED_LOCALES, type Locale } from './locales.js'

export type Catalogue = ReadonlyMap<string, string>
export type Catalogues = ReadonlyMap<Locale, Catalogue>

export const BUILT_IN_MESSAGES = fileURLToPath(new URL('./messages/', import.meta.url))

export function readCatalogue(folder: string): Catalogue {
  const messages = new Map<string, string>()
  for (const file of readdirSync(folder)
    .filter((name) => name.endsWith('.json'))
    .sort()) {
    const area = file.slice(0, -'.json'.length)
    const parsed: unknown = JSON.parse(readFileSync(path.join(folder, file), 'utf8'))
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error(`${path.join(folder, file)}: a catalogue is a JSON object of messages`)
    for (const [name, message] of Object.entries(parsed)) {
      if (typeof message !== 'string') throw new Error(`${path.join(folder, file)}: "${name}" is not a string`)
      messages.set(`${area}.${name}`, message)
    }
  }
  return messages
}

export function readCatalogues(root: string = BUILT_IN_MESSAGES): Catalogues {
  return new Map(SUPPORTED_LOCALES.map((locale) => [locale, readCatalogue(path.join(root, locale))]))
}
