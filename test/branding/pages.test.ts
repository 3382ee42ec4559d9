/**
 * The brand on pages (BRAND_* settings): the name in titles and headings, the logo served from our
 * own origin (the CSP keeps img-src 'self'), the footer links, the generated brand stylesheet with
 * the accent for both colour schemes; and THEME_DIR replacing templates and style.css file by file
 * with escaping kept.
 */
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { createTestApp, tempDir as makeTempDir, type TestApp, type TestAppOptions } from '../helpers/test-app.js'

const PNG = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.from('a tiny test logo')])
const SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'

/** A temporary folder removed when the whole file ends. */
function tempDir(): string {
  const dir = makeTempDir('tessera-brand-')
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

async function appWith(t: { teardown(fn: () => unknown): void }, options: TestAppOptions): Promise<TestApp> {
  const ctx = await createTestApp(options)
  t.teardown(() => ctx.close())
  return ctx
}

const page = async (ctx: TestApp, url: string) => {
  const response = await ctx.app.inject({ method: 'GET', url })
  return { response, html: response.body }
}

/** The value of `attribute` on the first `<tag …>` whose attributes match `where`. */
function attributeOf(html: string, tag: string, where: RegExp, attribute: string): string | undefined {
  const element = [...html.matchAll(new RegExp(`<${tag}\\b[^>]*>`, 'g'))].map((m) => m[0]).find((el) => where.test(el))
  return element === undefined ? undefined : new RegExp(`${attribute}="([^"]*)"`).exec(element)?.[1]
}

t.test('pages carry the brand: name, logo from our origin, footer links, brand stylesheet', async (t) => {
  const dir = tempDir()
  const logo = path.join(dir, 'logo.png')
  fs.writeFileSync(logo, PNG)
  const ctx = await appWith(t, {
    env: {
      BRAND_NAME: 'Acme & Sons',
      BRAND_LOGO_FILE: logo,
      BRAND_COLOR: '#0f766e',
      BRAND_SUPPORT_URL: 'https://help.acme.example/',
      BRAND_PRIVACY_URL: 'https://acme.example/privacy',
      BRAND_TERMS_URL: 'https://acme.example/terms?v=2&lang=en',
    },
  })
  for (const url of ['/forgot-password', '/signup']) {
    const { response, html } = await page(ctx, url)
    t.equal(response.statusCode, 200, url)
    t.match(html, /<title>[^<]+ · Acme &amp; Sons<\/title>/, `${url}: the title names the brand (escaped)`)
    t.match(html, /<p class="brand">.*Acme &amp; Sons<\/p>/, `${url}: the heading names the brand`)
    t.notMatch(html, 'Tessera', `${url}: no built-in name left`)
    const src = attributeOf(html, 'img', /class="brand-logo"/, 'src')
    t.match(src, /^\/assets\/brand-logo-[0-9a-f]{16}\.png$/, 'the logo is a path on our origin')
    t.match(attributeOf(html, 'img', /class="brand-logo"/, 'alt'), '', 'decorative next to the name (SC 1.1.1)')
    t.match(html, '<footer class="brand-footer">')
    t.match(html, '<a href="https://help.acme.example/">Help</a>')
    t.match(html, '<a href="https://acme.example/privacy">Privacy</a>')
    t.match(html, '<a href="https://acme.example/terms?v=2&amp;lang=en">Terms</a>')
    t.match(response.headers['content-security-policy'], "img-src 'self' data:", 'the CSP stays strict')
    t.match(response.headers['content-security-policy'], "style-src 'self';")
    t.notMatch(html, /style="/, 'no inline styles (the CSP forbids them)')
  }
  const { html } = await page(ctx, '/forgot-password')

  const logoPath = attributeOf(html, 'img', /class="brand-logo"/, 'src')!
  const served = await ctx.app.inject({ method: 'GET', url: logoPath })
  t.equal(served.statusCode, 200)
  t.equal(served.headers['content-type'], 'image/png')
  t.equal(served.headers['cache-control'], 'public, max-age=31536000, immutable')
  t.same(served.rawPayload, PNG, 'the file as read at start')

  const cssPath = [...html.matchAll(/<link rel="stylesheet" href="([^"]+)">/g)].map((m) => m[1]!)
  t.same(cssPath[0], '/assets/style.css', 'the built-in stylesheet first')
  t.match(cssPath[1], /^\/assets\/brand-[0-9a-f]{16}\.css$/, 'then the brand stylesheet, content-hashed')
  const css = await ctx.app.inject({ method: 'GET', url: cssPath[1]! })
  t.equal(css.statusCode, 200)
  t.match(css.headers['content-type'], /^text\/css/)
  t.equal(css.headers['cache-control'], 'public, max-age=31536000, immutable')
  t.match(css.body, ':root { --accent: #0f766e; --accent-text: #ffffff; }')
  t.match(css.body, /prefers-color-scheme: dark\) \{ :root \{ --accent: #[0-9a-f]{6}; --accent-text: #0b1020;/)
  t.equal(ctx.deps.config.brand.stylesheet.path, cssPath[1])
})

t.test('an SVG logo is served with its type and a sandboxing CSP', async (t) => {
  const dir = tempDir()
  const logo = path.join(dir, 'logo.svg')
  fs.writeFileSync(logo, SVG)
  const ctx = await appWith(t, { env: { BRAND_LOGO_FILE: logo } })
  const src = attributeOf((await page(ctx, '/forgot-password')).html, 'img', /class="brand-logo"/, 'src')!
  t.match(src, /\.svg$/)
  const served = await ctx.app.inject({ method: 'GET', url: src })
  t.equal(served.headers['content-type'], 'image/svg+xml')
  t.match(served.headers['content-security-policy'], /default-src 'none'.*sandbox/)
  t.equal(served.body, SVG)
})

t.test('BRAND_LOGO_URL on the issuer is used as is; without a brand, Tessera and no footer', async (t) => {
  const branded = await appWith(t, { env: { BRAND_LOGO_URL: 'http://localhost:3000/static/logo.png' } })
  const { html } = await page(branded, '/forgot-password')
  t.equal(attributeOf(html, 'img', /class="brand-logo"/, 'src'), 'http://localhost:3000/static/logo.png')

  const plain = await appWith(t, {})
  const { html: plainHtml } = await page(plain, '/forgot-password')
  t.match(plainHtml, /<title>[^<]+ · Tessera<\/title>/)
  t.match(plainHtml, '<span class="brand-mark" aria-hidden="true"></span>Tessera')
  t.notMatch(plainHtml, '<footer')
  const cssPath = /<link rel="stylesheet" href="(\/assets\/brand-[0-9a-f]+\.css)">/.exec(plainHtml)?.[1]
  t.ok(cssPath, 'the brand stylesheet is linked (logo and footer layout)')
  t.notMatch((await plain.app.inject({ method: 'GET', url: cssPath! })).body, '--accent', 'no colour override without BRAND_COLOR')
})

t.test('THEME_DIR replaces templates and style.css file by file; escaping stays on', async (t) => {
  const theme = tempDir()
  fs.writeFileSync(
    path.join(theme, 'layout.eta'),
    [
      '<!doctype html><html lang="en"><head><title><%= it.title %> | <%= it.brand.name %></title>',
      '<link rel="stylesheet" href="/assets/style.css"></head>',
      '<body><header class="themed">Themed <%= it.brand.name %></header><main aria-labelledby="page-title"><%~ it.body %></main></body></html>',
    ].join('\n'),
  )
  fs.writeFileSync(
    path.join(theme, 'forgot-password.eta'),
    '<% layout("./layout") %><h1 id="page-title">Lost your key? <%= it.productName %></h1>',
  )
  fs.writeFileSync(path.join(theme, 'style.css'), 'body { background: rebeccapurple; }\n')
  const ctx = await appWith(t, { env: { THEME_DIR: theme, BRAND_NAME: '<script>alert(1)</script>' } })

  const { html: forgot } = await page(ctx, '/forgot-password')
  t.match(forgot, '<header class="themed">Themed &lt;script&gt;alert(1)&lt;/script&gt;</header>', 'the theme layout, escaped')
  t.match(forgot, '<h1 id="page-title">Lost your key? &lt;script&gt;', 'the theme template')
  t.notMatch(forgot, '<script>alert(1)</script>', 'nothing unescaped')

  const { html: signup } = await page(ctx, '/signup')
  t.match(signup, '<header class="themed">', 'a built-in page inside the theme layout')
  t.match(signup, /<form[^>]*action="\/signup"/, 'with its built-in content')

  const css = await ctx.app.inject({ method: 'GET', url: '/assets/style.css' })
  t.equal(css.body, 'body { background: rebeccapurple; }\n', "the theme's style.css")
})

t.test('THEME_DIR/messages changes words in the languages it names; every other word stays', async (t) => {
  const theme = tempDir()
  for (const [locale, messages] of [
    ['en', { title: 'Welcome back', submit: 'Continue' }],
    ['de', { submit: 'Weiter' }],
  ] as const) {
    fs.mkdirSync(path.join(theme, 'messages', locale), { recursive: true })
    fs.writeFileSync(path.join(theme, 'messages', locale, 'login.json'), JSON.stringify(messages))
  }
  const ctx = await appWith(t, { env: { THEME_DIR: theme } })
  const english = await ctx.app.inject({ method: 'GET', url: '/login', headers: { 'accept-language': 'en' } })
  t.match(english.body, '<h1 id="page-title">Welcome back</h1>')
  t.match(english.body, '<button type="submit">Continue</button>')
  t.match(english.body, '>Forgot your password?</a>', 'a word the theme does not name is the built-in one')
  const german = await ctx.app.inject({ method: 'GET', url: '/login', headers: { 'accept-language': 'de' } })
  t.match(german.body, '<button type="submit">Weiter</button>')
  t.match(german.body, '<h1 id="page-title">Anmelden</h1>', 'English words of a theme do not replace German ones')
})

t.test('THEME_DIR with an unknown file stops the start (one line naming THEME_DIR)', async (t) => {
  const theme = tempDir()
  fs.writeFileSync(path.join(theme, 'sign-in.eta'), '<h1>typo</h1>')
  await t.rejects(createTestApp({ env: { THEME_DIR: theme } }), {
    name: 'ConfigError',
    problems: [/^THEME_DIR: sign-in\.eta in .* is not a built-in template, style\.css or messages\//],
  })
})
