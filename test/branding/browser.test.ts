/**
 * The brand as a browser shows it, under the real CSP: the accent from the generated stylesheet
 * on the button in the light scheme and its lightened variant in the dark scheme, the logo loaded
 * from our origin, the footer links; no CSP violation. Screenshots of both schemes are kept in
 * /tmp as artefacts.
 */
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { launchChromium } from '../helpers/chromium.js'
import { createTestApp, tempDir } from '../helpers/test-app.js'

/** A valid 1×1 PNG, so the browser really decodes the logo. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64')

const rgbOf = (hex: string) => `rgb(${[1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(', ')})`

type Styled = { getComputedStyle(element: unknown): { backgroundColor: string; color: string } }
type Img = { complete: boolean; naturalWidth: number }

t.test('the brand in Chromium, light and dark', async (t) => {
  const dir = tempDir('tessera-brand-browser-')
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.writeFileSync(path.join(dir, 'logo.png'), PNG)
  const ctx = await createTestApp({
    listen: true,
    env: {
      BRAND_NAME: 'Acme',
      BRAND_LOGO_FILE: path.join(dir, 'logo.png'),
      BRAND_COLOR: '#0f766e',
      BRAND_PRIVACY_URL: 'https://acme.example/privacy',
    },
  })
  t.teardown(() => ctx.close())
  const browser = await launchChromium()
  t.teardown(() => browser.close())
  const { color } = ctx.deps.config.brand

  for (const scheme of ['light', 'dark'] as const) {
    const page = await browser.newPage()
    const problems: string[] = []
    page.on('console', (message) => {
      if (!message.location().url.endsWith('/favicon.ico')) problems.push(`${message.type()}: ${message.text()}`)
    })
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`))
    await page.emulateMedia({ colorScheme: scheme })
    await page.goto(`${ctx.issuer}/forgot-password`)
    t.match(await page.title(), / · Acme$/, `${scheme}: the title`)
    const button = page.getByRole('button', { name: 'Send reset link' })
    const style = await button.evaluate((el) => (globalThis as unknown as Styled).getComputedStyle(el))
    t.equal(style.backgroundColor, rgbOf(scheme === 'light' ? color!.light : color!.dark), `${scheme}: the button has the brand accent`)
    t.equal(style.color, scheme === 'light' ? 'rgb(255, 255, 255)' : 'rgb(11, 16, 32)', `${scheme}: its text colour`)
    const logo = page.locator('img.brand-logo')
    await logo.evaluate(
      (img) => new Promise((resolve) => ((img as unknown as Img).complete ? resolve(null) : img.addEventListener('load', resolve))),
    )
    t.equal(await logo.evaluate((img) => (img as unknown as Img).naturalWidth), 1, `${scheme}: the logo loaded`)
    t.ok(await page.getByRole('link', { name: 'Privacy' }).isVisible(), `${scheme}: the footer link`)
    await page.screenshot({ path: `/tmp/tessera-brand-${scheme}.png`, fullPage: true })
    t.same(problems, [], `${scheme}: no console errors or CSP violations`)
    await page.close()
  }
})
