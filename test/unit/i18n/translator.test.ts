import t from 'tap'
import type { Catalogues } from '../../../src/i18n/catalogue.js'
import { createI18n } from '../../../src/i18n/translator.js'

const catalogues: Catalogues = new Map([
  [
    'en',
    new Map([
      ['test.hello', 'Hello {name}'],
      ['test.codes', '{count, plural, one {# code left} other {# codes left}}'],
      ['test.lead', 'to continue to <strong>{client}</strong>'],
      ['test.only_english', 'Only in English'],
      ['test.angle', 'Use <b> rarely'],
    ]),
  ],
  [
    'de',
    new Map([
      ['test.hello', 'Hallo {name}'],
      ['test.codes', '{count, plural, one {# Code übrig} other {# Codes übrig}}'],
      ['test.lead', 'weiter zu <strong>{client}</strong>'],
    ]),
  ],
  ['fr', new Map([['test.codes', '{count, plural, one {# code restant} other {# codes restants}}']])],
  ['es', new Map()],
])
const i18n = createI18n(catalogues, 'en')

t.test('messages with values and plurals, per language', async (t) => {
  t.equal(i18n.translator('de').t('test.hello', { name: 'Ada' }), 'Hallo Ada')
  t.equal(i18n.translator('en').t('test.codes', { count: 1 }), '1 code left')
  t.equal(i18n.translator('en').t('test.codes', { count: 3 }), '3 codes left')
  t.equal(i18n.translator('de').t('test.codes', { count: 3 }), '3 Codes übrig')
  // French counts 0 and 1 as singular (CLDR): the plural rules are the language's own.
  t.equal(i18n.translator('fr').t('test.codes', { count: 0 }), '0 code restant')
})

t.test('a message missing in a language falls back to English; one missing in English throws', async (t) => {
  t.equal(i18n.translator('de').t('test.only_english'), 'Only in English')
  t.equal(i18n.translator('es').t('test.hello', { name: 'Ada' }), 'Hello Ada')
  t.throws(() => i18n.translator('de').t('test.nowhere'), /no message "test\.nowhere"/)
})

t.test('plain text keeps angle brackets as text; rich escapes every value and allows only its tags', async (t) => {
  t.equal(i18n.translator('en').t('test.angle'), 'Use <b> rarely', 'the page escapes plain text itself')
  t.equal(
    i18n.translator('de').rich('test.lead', { client: '<script>alert(1)</script> & "Co"' }),
    'weiter zu <strong>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Co&quot;</strong>',
  )
  t.throws(() => i18n.translator('en').rich('test.angle'), 'an unknown tag in a rich message is refused, not passed through')
})

t.test('dates through Intl in the language, in UTC', async (t) => {
  const moment = Date.UTC(2026, 11, 6, 17, 5) / 1000
  t.match(i18n.translator('en').dateTime(moment), /Dec 6, 2026/)
  t.match(i18n.translator('de').dateTime(moment), /06\.12\.2026|6\. Dez\. 2026/)
  t.match(i18n.translator('de').dateTime(moment), /17:05 UTC$/, 'the time with its zone named')
  t.match(i18n.translator('en').dateTime(moment), /5:05\sPM UTC$/)
  t.match(i18n.translator('fr').dateTime(moment), /^6 déc\. 2026.*17:05 UTC$/)
})
