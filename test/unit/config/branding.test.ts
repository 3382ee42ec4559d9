/**
 * The BRAND_* variables and THEME_DIR: defaults, what each accepts, and for every bad value
 * exactly one line naming its variable (main.ts prints the problems and stops the start).
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { ConfigError, displayName, loadConfig, mailSender } from '../../../src/config/config.js'

const ISSUER = 'https://idp.example'
const PNG = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(32)])

function problems(env: Record<string, string>): readonly string[] {
  try {
    loadConfig({ ISSUER, ...env })
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
  throw new Error('expected a ConfigError')
}

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-brand-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

t.test('defaults: Tessera, no logo, the built-in accent, no links, no theme', async (t) => {
  const config = loadConfig({ ISSUER })
  t.equal(config.brandName, 'Tessera')
  t.equal(config.brand.name, 'Tessera')
  t.equal(config.brand.logoUrl, null)
  t.equal(config.brand.color, null)
  t.same(config.brand.links, [])
  t.equal(config.theme, null)
  t.match(config.brand.stylesheet.path, /^\/assets\/brand-[0-9a-f]{16}\.css$/)
  t.equal(mailSender(config), 'Tessera <no-reply@idp.example>')
})

t.test('accepted values', async (t) => {
  const dir = tempDir(t)
  const logo = path.join(dir, 'logo.png')
  fs.writeFileSync(logo, PNG)
  const config = loadConfig({
    ISSUER,
    BRAND_NAME: '  Example, Inc. ',
    BRAND_LOGO_FILE: logo,
    BRAND_COLOR: '#0F766E',
    BRAND_SUPPORT_URL: 'https://help.example/',
    BRAND_PRIVACY_URL: 'https://example.com/privacy',
    BRAND_TERMS_URL: 'https://example.com/terms',
  })
  t.equal(config.brand.name, 'Example, Inc.')
  t.same(config.brand.color, { light: '#0f766e', dark: config.brand.color!.dark })
  t.match(config.brand.logoUrl, /^\/assets\/brand-logo-[0-9a-f]{16}\.png$/)
  t.equal(config.brand.logoAbsoluteUrl, `${ISSUER}${config.brand.logoUrl}`)
  t.equal(config.brand.logoAsset!.contentType, 'image/png')
  t.same(
    config.brand.links.map((link) => link.label),
    ['Help', 'Privacy', 'Terms'],
  )
  t.equal(mailSender(config), '"Example, Inc." <no-reply@idp.example>', 'a name with a comma is quoted')
  t.equal(mailSender({ ...config, mailFrom: 'idp@example.com' }), '"Example, Inc." <idp@example.com>', 'a bare MAIL_FROM gets the name')
  t.equal(mailSender({ ...config, mailFrom: 'Accounts <idp@example.com>' }), 'Accounts <idp@example.com>', 'a named MAIL_FROM is kept')

  const onIssuer = loadConfig({ ISSUER, BRAND_LOGO_URL: 'https://idp.example/static/logo.svg' })
  t.equal(onIssuer.brand.logoUrl, 'https://idp.example/static/logo.svg')
  t.equal(onIssuer.brand.logoAsset, null)
  const local = loadConfig({ ISSUER: 'http://localhost:3000', BRAND_LOGO_URL: 'http://localhost:3000/logo.png' })
  t.equal(local.brand.logoUrl, 'http://localhost:3000/logo.png', 'http on loopback')
})

t.test('displayName quotes what is not a plain phrase', async (t) => {
  t.equal(displayName('Acme Accounts'), 'Acme Accounts')
  t.equal(displayName('Acme "Best" \\ Co'), '"Acme \\"Best\\" \\\\ Co"')
  t.equal(displayName('Zoë'), '"Zoë"')
})

t.test('each bad value stops the start with one line naming its variable', async (t) => {
  const dir = tempDir(t)
  const big = path.join(dir, 'big.png')
  fs.writeFileSync(big, Buffer.concat([PNG, Buffer.alloc(300 * 1024)]))
  const notPng = path.join(dir, 'fake.png')
  fs.writeFileSync(notPng, '<svg></svg>')
  const gif = path.join(dir, 'logo.gif')
  fs.writeFileSync(gif, 'GIF89a')
  const png = path.join(dir, 'logo.png')
  fs.writeFileSync(png, PNG)
  const cases: [string, Record<string, string>][] = [
    ['BRAND_NAME', { BRAND_NAME: 'Two\nlines' }],
    ['BRAND_NAME', { BRAND_NAME: 'x'.repeat(81) }],
    ['BRAND_COLOR', { BRAND_COLOR: 'blue' }],
    ['BRAND_COLOR', { BRAND_COLOR: '#fff' }],
    ['BRAND_COLOR', { BRAND_COLOR: '#ffcc00' }],
    ['BRAND_COLOR', { BRAND_COLOR: '#777777' }],
    ['BRAND_SUPPORT_URL', { BRAND_SUPPORT_URL: 'http://help.example' }],
    ['BRAND_PRIVACY_URL', { BRAND_PRIVACY_URL: 'privacy' }],
    ['BRAND_TERMS_URL', { BRAND_TERMS_URL: 'https://user:pw@example.com/terms' }],
    ['BRAND_LOGO_URL', { BRAND_LOGO_URL: 'https://cdn.example/logo.png' }],
    ['BRAND_LOGO_URL', { BRAND_LOGO_URL: 'http://idp.example/logo.png' }],
    ['BRAND_LOGO_URL', { BRAND_LOGO_URL: 'logo.png' }],
    ['BRAND_LOGO_FILE', { BRAND_LOGO_FILE: path.join(dir, 'missing.png') }],
    ['BRAND_LOGO_FILE', { BRAND_LOGO_FILE: big }],
    ['BRAND_LOGO_FILE', { BRAND_LOGO_FILE: notPng }],
    ['BRAND_LOGO_FILE', { BRAND_LOGO_FILE: gif }],
    ['BRAND_LOGO_FILE', { BRAND_LOGO_FILE: png, BRAND_LOGO_URL: 'https://idp.example/logo.png' }],
    ['THEME_DIR', { THEME_DIR: path.join(dir, 'no-such-theme') }],
  ]
  for (const [name, env] of cases) {
    const found = problems(env)
    t.equal(found.length, 1, `${JSON.stringify(env)}: one problem (${found.join(' | ')})`)
    t.match(found[0], new RegExp(`^${name}: `), `${JSON.stringify(env)} names ${name}`)
    t.notMatch(found[0], /\n/, 'one line')
  }
})

t.test('BRAND_COLOR: the message says which contrast fails and by how much', async (t) => {
  const [line] = problems({ BRAND_COLOR: '#ffcc00' })
  t.match(line, 'white button text on it 1.')
  t.match(line, 'as link text on the page background #f4f5f7')
  t.match(line, 'WCAG 2.2 SC 1.4.3')
  // A mid blue that passes on white (4.6:1) but not on the light page background (#f4f5f7).
  const [edge] = problems({ BRAND_COLOR: '#3a6fd0' })
  t.match(edge, /^BRAND_COLOR: #3a6fd0 has too little contrast \(as link text on the page background #f4f5f7 4\.\d\d:1;/)
  t.notMatch(edge, 'white button text')
  t.equal(loadConfig({ BRAND_COLOR: '#3b5bdb' }).brand.color!.light, '#3b5bdb', 'the built-in accent passes')
})

t.test('THEME_DIR: known files are read, dot-files skipped, unknown names and broken templates refused', async (t) => {
  const dir = tempDir(t)
  fs.writeFileSync(path.join(dir, 'login.eta'), '<% layout("./layout") %><h1 id="page-title">Hi</h1>')
  fs.writeFileSync(path.join(dir, 'mail.eta'), '<p><%= it.productName %></p>')
  fs.writeFileSync(path.join(dir, 'style.css'), 'body { color: black; }')
  fs.writeFileSync(path.join(dir, '.DS_Store'), 'x')
  const theme = loadConfig({ THEME_DIR: dir }).theme!
  t.same([...theme.templates.keys()], ['login.eta', 'mail.eta'])
  t.equal(theme.stylesheet, 'body { color: black; }')

  fs.writeFileSync(path.join(dir, 'loginn.eta'), 'typo')
  const [unknown, ...more] = problems({ THEME_DIR: dir })
  t.same(more, [])
  t.match(unknown, /^THEME_DIR: loginn\.eta in .* is not a built-in template, style\.css or messages\//)
  fs.rmSync(path.join(dir, 'loginn.eta'))

  fs.mkdirSync(path.join(dir, 'partials'))
  t.match(problems({ THEME_DIR: dir }), [/^THEME_DIR: partials in /])
  fs.rmdirSync(path.join(dir, 'partials'))

  fs.writeFileSync(path.join(dir, 'consent.eta'), '<%= it.brand.name ')
  const [broken] = problems({ THEME_DIR: dir })
  t.match(broken, /^THEME_DIR: consent\.eta in .* does not compile: /)
  t.notMatch(broken, /\n/)
})

t.test('THEME_DIR/messages: built-in messages replaced per language; unknown keys, bad ICU and new placeholders refused', async (t) => {
  const dir = tempDir(t)
  const write = (locale: string, area: string, messages: Record<string, string>) => {
    fs.mkdirSync(path.join(dir, 'messages', locale), { recursive: true })
    fs.writeFileSync(path.join(dir, 'messages', locale, `${area}.json`), JSON.stringify(messages))
  }
  write('en', 'login', { title: 'Welcome back', lead: 'to <strong>{client}</strong>' })
  write('de', 'login', { submit: 'Los geht’s' })
  const theme = loadConfig({ THEME_DIR: dir }).theme!
  t.same([...theme.messages.keys()].sort(), ['de', 'en'])
  t.same(Object.fromEntries(theme.messages.get('en')!), { 'login.title': 'Welcome back', 'login.lead': 'to <strong>{client}</strong>' })
  t.same(Object.fromEntries(theme.messages.get('de')!), { 'login.submit': 'Los geht’s' })

  const refusal = (locale: string, area: string, messages: Record<string, string>): string => {
    write(locale, area, messages)
    const found = problems({ THEME_DIR: dir })
    fs.rmSync(path.join(dir, 'messages', locale, `${area}.json`))
    t.equal(found.length, 1, 'one line')
    return found[0]!
  }
  t.match(refusal('fr', 'login', { titel: 'x' }), /^THEME_DIR: messages\/fr: "login\.titel" is not a built-in message/)
  t.match(refusal('fr', 'nowhere', { title: 'x' }), /^THEME_DIR: messages\/fr: "nowhere\.title" is not a built-in message/)
  t.match(refusal('fr', 'login', { title: 'Bonjour {name' }), /^THEME_DIR: messages\/fr: "login\.title" is not a valid ICU message/)
  t.match(
    refusal('fr', 'login', { lead: 'pour {client}, {user}' }),
    /^THEME_DIR: messages\/fr: "login\.lead" uses \{user\}, which the built-in message does not have/,
  )
  t.match(refusal('es', 'login', { lead: 'para <b>{client}</b>' }), /"login\.lead" uses <b>, which the built-in message does not have/)
  fs.mkdirSync(path.join(dir, 'messages', 'it'))
  t.match(problems({ THEME_DIR: dir }), [/^THEME_DIR: messages\/it is not a folder of a supported language \(en, de, fr, es\) in /])
})
