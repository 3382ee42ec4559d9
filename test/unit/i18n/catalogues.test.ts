/**
 * The shipped catalogues (src/i18n/messages): every language has every message English has and
 * no other, each message is valid ICU with the same placeholders and tags as English, and every
 * key the pages, mails and code name exists in English (a key only named at run time is listed in
 * DYNAMIC_KEYS below, with where it comes from).
 */
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { messageShape } from '../../../src/i18n/message-shape.js'
import { readCatalogues } from '../../../src/i18n/catalogue.js'
import { SUPPORTED_LOCALES, SOURCE_LOCALE } from '../../../src/i18n/locales.js'

const ROOT = path.resolve(import.meta.dirname, '../../..')
const catalogues = readCatalogues(path.join(ROOT, 'src/i18n/messages'))
const english = catalogues.get(SOURCE_LOCALE)!

t.test('every language has exactly the messages English has, with the same placeholders', async (t) => {
  t.ok(english.size > 50, `English has ${english.size} messages`)
  for (const locale of SUPPORTED_LOCALES) {
    const catalogue = catalogues.get(locale)!
    const missing = [...english.keys()].filter((key) => !catalogue.has(key))
    const extra = [...catalogue.keys()].filter((key) => !english.has(key))
    t.same(missing, [], `${locale}: no message missing`)
    t.same(extra, [], `${locale}: no message English lacks`)
    const different = [...catalogue].filter(
      ([key, message]) => english.has(key) && messageShape(message).join() !== messageShape(english.get(key)!).join(),
    )
    t.same(
      different.map(([key]) => key),
      [],
      `${locale}: the same placeholders and tags as English`,
    )
    const tags = [...catalogue].flatMap(([key, message]) =>
      messageShape(message)
        .filter((part) => part.startsWith('<') && !['<strong>', '<em>', '<code>'].includes(part))
        .map((tag) => `${key} ${tag}`),
    )
    t.same(tags, [], `${locale}: only <strong>, <em> and <code> as markup`)
  }
})

t.test('a language other than English is translated, not copied', async (t) => {
  for (const locale of SUPPORTED_LOCALES.filter((locale) => locale !== SOURCE_LOCALE)) {
    const catalogue = catalogues.get(locale)!
    // Short words (brand-like labels, "OK", "Passkey") may be the same; sentences may not.
    const copied = [...catalogue].filter(([key, message]) => message.length > 24 && message === english.get(key)).map(([key]) => key)
    t.same(copied, [], `${locale}: no sentence left in English`)
  }
})

/** Keys built at run time from a value, each with where it is built. */
const DYNAMIC_KEYS: readonly RegExp[] = [
  /^errors\./, // PageError keys and describeError's page words (errors/to-response.ts), checked by the next test
  /^layout\.link_/, // layout.eta: 'layout.link_' + link.kind (branding/brand.ts)
]

function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(folder, entry.name)
    if (entry.isDirectory()) return sourceFiles(full)
    return /\.(ts|eta|js)$/.test(entry.name) ? [full] : []
  })
}

t.test('every message key the sources name exists in English', async (t) => {
  const named = new Map<string, string>()
  const KEY = /['"`]((?:[a-z_]+)\.[a-z0-9_.]+)['"`]/g
  // Webhook event names (login.succeeded) look like keys and are not.
  for (const file of sourceFiles(path.join(ROOT, 'src')).filter((file) => !file.includes(`${path.sep}webhooks${path.sep}`))) {
    const text = readFileSync(file, 'utf8')
    // Only strings that look like catalogue keys of a known area.
    for (const match of text.matchAll(KEY)) {
      const key = match[1]!
      const area = key.split('.')[0]!
      // A file name ('login.eta') or the stem of a key built at run time ('layout.link_' + kind).
      if (key.endsWith('_') || key.endsWith('.') || /\.(eta|js|ts|css|json)$/.test(key)) continue
      if ([...english.keys()].some((known) => known.startsWith(`${area}.`))) named.set(key, path.relative(ROOT, file))
    }
  }
  const unknown = [...named].filter(([key]) => !english.has(key) && !DYNAMIC_KEYS.some((pattern) => pattern.test(key) && english.has(key)))
  const reallyUnknown = unknown.filter(([key]) => !(key.startsWith('errors.') && english.has(`${key}.title`)))
  t.same(
    reallyUnknown.map(([key, file]) => `${key} (${file})`),
    [],
    'no key named in the sources is missing from English',
  )
})
