import t from 'tap'
import { fromAcceptLanguage, fromUiLocales, matchTag, negotiateLocale } from '../../../src/i18n/negotiate.js'

t.test('a tag matches a supported language by its primary subtag, in any case', async (t) => {
  t.equal(matchTag('de'), 'de')
  t.equal(matchTag('de-AT'), 'de')
  t.equal(matchTag('FR_ca'), 'fr')
  t.equal(matchTag('es-419'), 'es')
  t.equal(matchTag('en-GB'), 'en')
  t.equal(matchTag('pt-BR'), null)
  t.equal(matchTag('*'), null)
  t.equal(matchTag(''), null)
})

t.test('ui_locales: the first supported tag of the space-separated list (OIDC Core §3.1.2.1)', async (t) => {
  t.equal(fromUiLocales('fr-CA fr en'), 'fr')
  t.equal(fromUiLocales('pt-BR ja es'), 'es', 'unsupported ones are skipped')
  t.equal(fromUiLocales('pt ja'), null)
  t.equal(fromUiLocales('  de  '), 'de', 'extra spaces are ignored')
})

t.test('Accept-Language: the highest q wins, ties keep header order, q=0 excludes (RFC 9110 §12.5.4)', async (t) => {
  t.equal(fromAcceptLanguage('fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5'), 'fr')
  t.equal(fromAcceptLanguage('pt-BR, es;q=0.4, de;q=0.6'), 'de')
  t.equal(fromAcceptLanguage('de;q=0, en'), 'en', 'q=0 means not this language')
  t.equal(fromAcceptLanguage('es, de'), 'es')
  t.equal(fromAcceptLanguage('de;q=abc, fr;q=0.5'), 'fr', 'a broken q drops that range only')
  t.equal(fromAcceptLanguage('de;q=2'), null, 'q above 1 is not valid')
  t.equal(fromAcceptLanguage('*'), null)
  t.equal(fromAcceptLanguage(''), null)
})

t.test('the order: ui_locales, then the saved preference, then Accept-Language, then the default', async (t) => {
  const all = { uiLocales: 'es', preference: 'fr', acceptLanguage: 'de', defaultLocale: 'en' } as const
  t.equal(negotiateLocale(all), 'es')
  t.equal(negotiateLocale({ ...all, uiLocales: 'ja' }), 'fr', 'an unsupported ui_locales falls through')
  t.equal(negotiateLocale({ ...all, uiLocales: null, preference: null }), 'de')
  t.equal(negotiateLocale({ ...all, uiLocales: null, preference: 'xx' }), 'de', 'an unknown stored preference is ignored')
  t.equal(negotiateLocale({ defaultLocale: 'fr' }), 'fr')
  t.equal(negotiateLocale({ acceptLanguage: 'ja', defaultLocale: 'de' }), 'de')
})
