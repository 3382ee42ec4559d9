/**
 * docs/security.md §A/§H, the login page: 303 after login; the session cookie is HttpOnly, SameSite=Lax
 * and rotated at every login; anti-forgery token and Origin check (403, nothing changes); the same
 * answer for a wrong password and an unknown email; user input escaped.
 */
import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import type { Assert } from '../helpers/assert.js'
import { authorizeUrl, CookieJar, FORM, hiddenField, pkcePair } from '../helpers/client.js'
import { createTestApp } from '../helpers/test-app.js'

const ctx = await createTestApp()
t.teardown(() => ctx.close())
const rp = await ctx.addClient({ name: 'Web', redirectUris: ['https://rp.example/cb'] })
const user = await ctx.addUser()
const SESSION = 'tessera_session'
const ORIGIN = new URL(ctx.issuer).origin

interface LoginForm {
  readonly jar: CookieJar
  readonly page: LightMyRequestResponse
  readonly csrf: string
  readonly interaction: string
}

/** GET /authorize → GET /login: the form a browser would show. */
async function openLoginPage(jar = new CookieJar(), extra: Record<string, string> = {}): Promise<LoginForm> {
  const params = {
    response_type: 'code',
    client_id: rp.client.id,
    redirect_uri: 'https://rp.example/cb',
    scope: 'openid',
    state: 'st',
    code_challenge: pkcePair().challenge,
    code_challenge_method: 'S256',
    ...extra,
  }
  const start = await ctx.app.inject({ method: 'GET', url: authorizeUrl(params), headers: { cookie: jar.header() } })
  jar.store(start)
  if (!start.headers.location?.startsWith('/login'))
    throw new Error(`expected the login page, got ${start.statusCode} ${String(start.headers.location)}`)
  const page = await ctx.app.inject({ method: 'GET', url: start.headers.location, headers: { cookie: jar.header() } })
  jar.store(page)
  return { jar, page, csrf: hiddenField(page.body, '_csrf'), interaction: hiddenField(page.body, 'interaction') }
}

async function submit(
  form: LoginForm,
  fields: Record<string, string | undefined>,
  headers: Record<string, string> = { origin: ORIGIN },
): Promise<LightMyRequestResponse> {
  const body: Record<string, string> = {}
  const all = { _csrf: form.csrf, interaction: form.interaction, email: user.email, password: user.password, ...fields }
  for (const [name, value] of Object.entries(all)) if (value !== undefined) body[name] = value
  const response = await ctx.app.inject({
    method: 'POST',
    url: '/login',
    headers: { ...FORM, cookie: form.jar.header(), ...headers },
    payload: new URLSearchParams(body).toString(),
  })
  form.jar.store(response)
  return response
}

const sessionCookie = (response: LightMyRequestResponse) =>
  (response.cookies as { name: string; value: string }[]).find((cookie) => cookie.name.endsWith(SESSION))
const rawSetCookie = (response: LightMyRequestResponse, name: string) =>
  [response.headers['set-cookie'] ?? []].flat().find((line) => line.startsWith(`${name}=`))

function assertRefused(t: Assert, response: LightMyRequestResponse, what: string) {
  t.equal(response.statusCode, 403, `${what}: 403`)
  t.equal(sessionCookie(response), undefined, `${what}: no session cookie`)
  t.equal(response.headers.location, undefined, `${what}: no redirect`)
}

t.test('a successful login answers 303 to the client with a code and sets the session cookie', async (t) => {
  const form = await openLoginPage()
  t.equal(form.page.statusCode, 200)
  const response = await submit(form, {})
  t.equal(response.statusCode, 303)
  const location = new URL(response.headers.location as string)
  t.equal(`${location.origin}${location.pathname}`, 'https://rp.example/cb')
  t.ok(location.searchParams.get('code'))
  t.equal(location.searchParams.get('state'), 'st')
  t.equal(location.searchParams.get('iss'), ctx.issuer)

  const line = rawSetCookie(response, SESSION)
  t.ok(line, 'a tessera_session cookie')
  t.match(line, /;\s*HttpOnly/i, 'HttpOnly')
  t.match(line, /;\s*SameSite=Lax/i, 'SameSite=Lax')
  t.match(line, /;\s*Path=\//i, 'Path=/')
  t.notMatch(line, /;\s*Secure/i, 'not Secure under an http issuer')
  t.notMatch(line, /;\s*Domain=/i, 'no Domain')
  t.ok(Buffer.from(sessionCookie(response)!.value, 'base64url').length >= 16, 'at least 128 bits')
})

t.test('the session cookie changes at every login and the old one stops working', async (t) => {
  const first = await openLoginPage()
  const firstValue = sessionCookie(await submit(first, {}))!.value
  const second = await openLoginPage(first.jar, { prompt: 'login' })
  const secondValue = sessionCookie(await submit(second, {}))!.value
  t.not(secondValue, firstValue, 'a new value at re-authentication')
  const third = await openLoginPage(new CookieJar())
  const thirdValue = sessionCookie(await submit(third, {}))!.value
  t.not(thirdValue, firstValue)
  t.not(thirdValue, secondValue)

  const stale = await ctx.app.inject({
    method: 'GET',
    url: authorizeUrl({
      response_type: 'code',
      client_id: rp.client.id,
      redirect_uri: 'https://rp.example/cb',
      scope: 'openid',
      prompt: 'none',
      code_challenge: pkcePair().challenge,
      code_challenge_method: 'S256',
    }),
    headers: { cookie: `${SESSION}=${firstValue}` },
  })
  t.equal(new URL(stale.headers.location as string).searchParams.get('error'), 'login_required', 'the replaced session is over')

  // Fixation: a session id planted before login is not the one used after it.
  const planted = new CookieJar()
  planted.cookies.set(SESSION, 'attacker-chosen-session-id-0000000000000')
  const form = await openLoginPage(planted)
  t.not(sessionCookie(await submit(form, {}))?.value, 'attacker-chosen-session-id-0000000000000')
})

t.test('a login post without the _csrf field → 403, no session', async (t) => {
  const form = await openLoginPage()
  assertRefused(t, await submit(form, { _csrf: undefined }), 'no _csrf')
  assertRefused(t, await submit(form, { _csrf: '' }), 'empty _csrf')
  assertRefused(t, await submit(form, { _csrf: `${form.csrf}x` }), 'altered _csrf')
})

t.test('cross-site posts are refused with 403 and change nothing', async (t) => {
  const form = await openLoginPage()
  assertRefused(t, await submit(form, {}, { origin: 'https://evil.example' }), 'Origin https://evil.example')
  assertRefused(t, await submit(form, {}, { origin: 'null' }), 'Origin null')
  assertRefused(t, await submit(form, {}, { origin: `${ORIGIN}.evil.example` }), 'Origin with our origin as prefix')

  const elsewhere = await openLoginPage()
  assertRefused(t, await submit({ ...form, csrf: elsewhere.csrf }, {}), "another browser's token")
  const noCookies = await ctx.app.inject({
    method: 'POST',
    url: '/login',
    headers: { ...FORM, origin: ORIGIN },
    payload: new URLSearchParams({
      _csrf: form.csrf,
      interaction: form.interaction,
      email: user.email,
      password: user.password,
    }).toString(),
  })
  assertRefused(t, noCookies, 'token without its cookie')

  const ok = await submit(form, {})
  t.equal(ok.statusCode, 303, 'the refused posts did not spoil the login')
})

t.test('wrong password and unknown email get the same answer', async (t) => {
  const form = await openLoginPage()
  const email = 'nobody-here@example.com'
  const wrongPassword = await submit(form, { password: 'not the password at all' })
  const unknownEmail = await submit(form, { email, password: 'not the password at all' })
  t.equal(wrongPassword.statusCode, unknownEmail.statusCode, 'same status')
  t.equal(wrongPassword.statusCode, 401)
  t.equal(sessionCookie(wrongPassword), undefined)
  t.equal(sessionCookie(unknownEmail), undefined)
  const normalise = (body: string, echoed: string) =>
    body
      .split(echoed)
      .join('EMAIL')
      .replace(/name="_csrf" value="[^"]*"/g, 'name="_csrf" value="TOKEN"')
  t.equal(normalise(wrongPassword.body, user.email), normalise(unknownEmail.body, email), 'same body apart from the echoed email')
  t.same(Object.keys(wrongPassword.headers).sort(), Object.keys(unknownEmail.headers).sort(), 'same headers')
})

t.test('the login page escapes login_hint', async (t) => {
  const hint = '"><script>alert(1)</script>'
  const form = await openLoginPage(new CookieJar(), { login_hint: hint })
  t.equal(form.page.statusCode, 200)
  t.notMatch(form.page.body, /<script>alert/i, 'no raw <script> in the page')
  t.notMatch(form.page.body, /value=""><script>/)
  t.match(form.page.body, /&lt;script&gt;|&#60;script&#62;/, 'the hint is shown escaped')

  const echoed = await submit(form, { email: '"><img src=x onerror=alert(1)>', password: 'x' })
  t.notMatch(echoed.body, /<img/i, 'the echoed email is escaped too')
})

t.test('an unknown or expired interaction gets a page, not a crash', async (t) => {
  const response = await ctx.app.inject({ method: 'GET', url: '/login?interaction=unknown' })
  t.equal(response.statusCode, 400)
  t.match(response.headers['content-type'], /^text\/html/)
  const form = await openLoginPage()
  ctx.clock.advance(ctx.deps.config.interactionTtl + 1)
  const late = await submit(form, {})
  t.equal(late.statusCode, 400, 'the login page expired')
  t.equal(sessionCookie(late), undefined)
})
