/**
 * The README's "Branding and languages" screenshots (docs/images/*.png), taken from a real server
 * in headless Chromium: `npm run docs:screenshots`. Not part of `npm test` (it writes files that
 * are committed); run it again after changing the pages.
 */
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import t from 'tap'
import { launchChromium } from '../test/helpers/chromium.js'
import { pkcePair } from '../test/helpers/client.js'
import { fastHasher } from '../test/helpers/fast-hasher.js'
import { createTestApp } from '../test/helpers/test-app.js'

const OUT = path.resolve('docs/images')

t.test('README screenshots', async (t) => {
  const ctx = await createTestApp({
    listen: true,
    env: {
      BRAND_NAME: 'Acme',
      BRAND_COLOR: '#0f766e',
      BRAND_PRIVACY_URL: 'https://acme.example/privacy',
      BRAND_SUPPORT_URL: 'https://help.acme.example/',
    },
    overrides: { hasher: fastHasher() },
  })
  t.teardown(() => ctx.close())
  const browser = await launchChromium()
  t.teardown(() => browser.close())
  const context = await browser.newContext({ viewport: { width: 520, height: 900 }, deviceScaleFactor: 1 })
  const page = await context.newPage()

  // The application's logo: drawn by Chromium, served by "its" site, fetched and served by Tessera.
  await page.setContent(
    '<div id="logo" style="width:96px;height:96px;border-radius:22px;background:#7c3aed;color:#fff;font:700 56px/96px system-ui;text-align:center">P</div>',
  )
  const logo = await page.locator('#logo').screenshot({ omitBackground: true })
  const site = http.createServer((_request, response) => void response.writeHead(200, { 'content-type': 'image/png' }).end(logo))
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => site.close(() => resolve())))

  // The screenshots stop before the application is reached: its real-looking host can be shown.
  const callback = 'https://photos.example.com/callback'
  const printer = await ctx.addClient({ name: 'Photo Printer', redirectUris: [callback], firstParty: false })
  await ctx.deps.repos.clients.saveSettings({
    ...printer.client,
    metadata: {
      logo_uri: `http://127.0.0.1:${(site.address() as AddressInfo).port}/logo.png`,
      client_uri: 'https://photos.example.com/',
      policy_uri: 'https://photos.example.com/privacy',
      tos_uri: 'https://photos.example.com/terms',
    },
  })
  await ctx.deps.clientLogos.refresh((await ctx.deps.repos.clients.find(printer.client.id))!)
  const user = await ctx.addUser({ name: 'Grace Hopper', email: 'grace@example.com' })
  const authorize = (uiLocales: string) =>
    `${ctx.issuer}/authorize?${new URLSearchParams({
      response_type: 'code',
      client_id: printer.client.id,
      redirect_uri: callback,
      scope: 'openid profile email',
      state: 's',
      code_challenge: pkcePair().challenge,
      code_challenge_method: 'S256',
      ui_locales: uiLocales,
    })}`

  await page.goto(authorize('de'))
  await page.locator('img.client-logo').waitFor()
  await page.screenshot({ path: path.join(OUT, 'login-de.png'), fullPage: true })

  await context.clearCookies()
  await page.goto(authorize('fr'))
  await page.locator('#email').fill(user.email)
  await page.locator('#password').fill(user.password)
  await Promise.all([page.waitForURL(/\/consent/), page.locator('form[action="/login"] button[type="submit"]').click()])
  await page.screenshot({ path: path.join(OUT, 'consent-fr.png'), fullPage: true })

  await page.setExtraHTTPHeaders({ 'accept-language': 'es' })
  await page.emulateMedia({ colorScheme: 'dark' })
  await page.goto(`${ctx.issuer}/account`)
  await page.screenshot({ path: path.join(OUT, 'account-es-dark.png'), fullPage: true })
  for (const name of ['login-de.png', 'consent-fr.png', 'account-es-dark.png']) t.ok(fs.statSync(path.join(OUT, name)).size > 1000, name)
})
