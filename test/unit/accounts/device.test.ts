import t from 'tap'
import { describeDevice as describeIn } from '../../../src/http/device.js'
import { readCatalogues } from '../../../src/i18n/catalogue.js'
import { createI18n } from '../../../src/i18n/translator.js'

const i18n = createI18n(readCatalogues(), 'en')
const describeDevice = (userAgent: string | null) => describeIn(userAgent, i18n.translator('en').t)

t.test('user agents become short descriptions', async (t) => {
  t.equal(describeDevice('Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0'), 'Firefox on Linux')
  t.equal(
    describeDevice(
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
    ),
    'Edge on Windows',
  )
  t.equal(
    describeDevice(
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
    ),
    'Safari on iOS',
  )
  t.equal(
    describeDevice('Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36'),
    'Chrome on Android',
  )
  t.equal(describeDevice('curl/8.5.0'), 'curl')
  t.equal(describeDevice(null), 'Unknown browser')
  t.equal(describeDevice('something else'), 'Browser')
})

t.test('in the page’s language: the words translate, product names do not', async (t) => {
  const german = i18n.translator('de').t
  t.equal(describeIn('Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0', german), 'Firefox unter Linux')
  t.equal(describeIn(null, i18n.translator('fr').t), 'Navigateur inconnu')
})
