/**
 * Who is asking, on the sign-in and consent pages (issue 19): the client's logo (fetched once by
 * the server and served from its own origin, so the CSP keeps img-src 'self'), its name, the host
 * its redirect URI returns to, and its home, privacy and terms links. Set with `idp clients add|update
 * --logo-uri --client-uri --policy-uri --tos-uri` (https only; --no- forms remove) and the admin API.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { authorizeUrl, Browser, pkcePair } from '../helpers/client.js'
import { cliFor } from '../helpers/cli.js'
import { createTestApp, type TestApp } from '../helpers/test-app.js'

const PNG = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.from('a tiny client logo')])
const SVG = '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'

/** A client's web site on a loopback port: its logo as PNG and as SVG, counting fetches. */
async function clientSite(t: { teardown(fn: () => unknown): void }) {
  const fetched: string[] = []
  const server = http.createServer((request, response) => {
    fetched.push(request.url ?? '')
    if (request.url === '/logo.png') return void response.writeHead(200, { 'content-type': 'image/png' }).end(PNG)
    // Says it is a PNG; the bytes say otherwise.
    if (request.url === '/logo.svg') return void response.writeHead(200, { 'content-type': 'image/png' }).end(SVG)
    response.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, fetched }
}

async function loginPage(ctx: TestApp, clientId: string, redirectUri: string) {
  const { challenge } = pkcePair()
  const browser = new Browser(ctx)
  const started = await browser.get(
    authorizeUrl({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: redirectUri,
      scope: 'openid',
      state: 's',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }),
  )
  if (started.statusCode !== 303) throw new Error(`/authorize answered ${started.statusCode}: ${started.body.slice(0, 200)}`)
  return (await browser.get(started.headers.location!)).body
}

const logoSrc = (html: string) => /<img class="client-logo" src="([^"]+)"/.exec(html)?.[1]

t.test('the login page shows the client’s logo from our origin, its name, its return host and its links', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const site = await clientSite(t)
  const idp = cliFor(ctx)
  const added = await idp([
    'clients',
    'add',
    '--name',
    'Photo <Printer>',
    '--redirect-uri',
    'https://photos.example.com/callback',
    '--logo-uri',
    `${site.origin}/logo.png`,
    '--client-uri',
    'https://photos.example.com/',
    '--policy-uri',
    'https://photos.example.com/privacy',
    '--tos-uri',
    'https://photos.example.com/terms?a=1&b=2',
    '--json',
  ])
  t.equal(added.code, 0, added.stderr.join('\n'))
  const clientId = added.json['client_id'] as string

  // The first page does not wait for the logo: it fetches it in the background.
  const first = await loginPage(ctx, clientId, 'https://photos.example.com/callback')
  t.match(first, /to continue to <strong>Photo &lt;Printer&gt;<\/strong>/, 'the name, escaped')
  t.match(first, /you return to <strong>photos\.example\.com<\/strong>/, 'the host the sign-in returns to')
  t.match(first, /<a href="https:\/\/photos\.example\.com\/privacy" rel="noopener noreferrer">Privacy policy of Photo &lt;Printer&gt;<\/a>/)
  t.match(first, /href="https:\/\/photos\.example\.com\/terms\?a=1&amp;b=2"/)
  t.match(first, /href="https:\/\/photos\.example\.com\/"/)
  await ctx.deps.clientLogos.idle()
  t.same(site.fetched, ['/logo.png'], 'fetched once')

  const second = await loginPage(ctx, clientId, 'https://photos.example.com/callback')
  const src = logoSrc(second)
  t.match(src, new RegExp(`^/client-logos/${clientId}/[A-Za-z0-9_-]{22}$`), 'the logo is a path on our own origin')
  const image = await ctx.app.inject({ method: 'GET', url: src! })
  t.equal(image.statusCode, 200)
  t.equal(image.headers['content-type'], 'image/png')
  t.same(image.rawPayload, PNG, 'the bytes the client serves')
  t.match(image.headers['cache-control'], /immutable/)
  t.equal(image.headers['x-content-type-options'], 'nosniff')
  t.equal((await ctx.app.inject({ method: 'GET', url: `/client-logos/${clientId}/wrongdigest` })).statusCode, 404)
  t.same(site.fetched, ['/logo.png'], 'not fetched again within a day')

  // A logo that is not an image by its bytes is never shown.
  const changed = await idp(['clients', 'update', clientId, '--logo-uri', `${site.origin}/logo.svg`, '--no-tos-uri'])
  t.equal(changed.code, 0, changed.stderr.join('\n'))
  await loginPage(ctx, clientId, 'https://photos.example.com/callback')
  await ctx.deps.clientLogos.idle()
  const afterSvg = await loginPage(ctx, clientId, 'https://photos.example.com/callback')
  t.equal(logoSrc(afterSvg), undefined, 'an SVG (or anything not PNG, JPEG, GIF or WebP) is not shown')
  t.notMatch(afterSvg, 'Terms of Photo', '--no-tos-uri removed the terms link')
  const shown = await idp(['clients', 'show', clientId, '--json'])
  t.match(shown.json, { logo_uri: `${site.origin}/logo.svg`, tos_uri: null, policy_uri: 'https://photos.example.com/privacy' })
})

t.test('page links must be https URLs; a bad one is one line naming its flag, and nothing is stored', async (t) => {
  const ctx = await createTestApp({ env: { ISSUER: 'https://id.example.com' } })
  t.teardown(() => ctx.close())
  const idp = cliFor(ctx)
  const base = ['clients', 'add', '--name', 'App', '--redirect-uri', 'https://app.example/cb']
  for (const [flag, value] of [
    ['--logo-uri', 'http://app.example/logo.png'],
    ['--policy-uri', 'javascript:alert(1)'],
    ['--tos-uri', 'not a url'],
    ['--client-uri', 'https://user:pw@app.example/'],
    ['--logo-uri', 'http://127.0.0.1:9/logo.png'],
  ] as const) {
    const run = await idp([...base, flag, value])
    t.equal(run.code, 1, `${flag} ${value} is refused`)
    t.match(run.stderr.join('\n'), new RegExp(`^idp: ${flag} `), 'one line naming the flag')
  }
  t.equal((await ctx.deps.repos.clients.list()).length, 0, 'no client was stored')
  const empty = await idp(['clients', 'update', 'some-id', '--logo-uri', ''])
  t.match(empty.stderr.join('\n'), /--logo-uri: give an https URL/)
})
