/**
 * docs/security.md §A, with a login session: SSO across first-party clients; prompt=login and max_age
 * force re-authentication and move auth_time; id_token_hint for another user → login_required;
 * nonce returned identically; no code for a third-party client before consent.
 */
import t from 'tap'
import { decodeJwt } from 'jose'
import { authorize, authorizeUrl, CookieJar, obtainCode, pkcePair, redeem, signIn } from '../helpers/client.js'
import { createTestApp } from '../helpers/test-app.js'

const ctx = await createTestApp()
t.teardown(() => ctx.close())
const appA = await ctx.addClient({ name: 'App A', redirectUris: ['https://a.example/cb'] })
const appB = await ctx.addClient({ name: 'App B', redirectUris: ['https://b.example/cb'] })
const thirdParty = await ctx.addClient({ name: 'Partner', redirectUris: ['https://partner.example/cb'], firstParty: false })
const alice = await ctx.addUser({ name: 'Alice' })
const bob = await ctx.addUser({ name: 'Bob' })

/** A browser already signed in as alice through App A, with the ID token it got. */
async function signedInBrowser(): Promise<{ jar: CookieJar; authTime: number; idToken: string }> {
  const jar = new CookieJar()
  const { tokens } = await signIn(ctx, appA, alice, { scope: 'openid', jar })
  return { jar, authTime: decodeJwt(tokens.id_token!).auth_time as number, idToken: tokens.id_token! }
}

function authorizeParams(rp: typeof appA, extra: Record<string, string> = {}) {
  const { challenge } = pkcePair()
  return {
    response_type: 'code',
    client_id: rp.client.id,
    redirect_uri: rp.client.redirectUris[0]!,
    scope: 'openid',
    state: 's1',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  }
}

t.test('SSO: a second first-party client gets a code without the login page', async (t) => {
  const { jar, authTime } = await signedInBrowser()
  ctx.clock.advance(5)
  const response = await ctx.app.inject({ method: 'GET', url: authorizeUrl(authorizeParams(appB)), headers: { cookie: jar.header() } })
  t.equal(response.statusCode, 303)
  const location = new URL(response.headers.location as string)
  t.equal(`${location.origin}${location.pathname}`, 'https://b.example/cb', 'straight back to App B')
  t.ok(location.searchParams.get('code'), 'with a code')
  t.equal(location.searchParams.get('state'), 's1')
  t.equal(location.searchParams.get('iss'), ctx.issuer)

  const sso = await obtainCode(ctx, appB, undefined, { jar })
  const tokens = await redeem(ctx, appB, sso.code, { code_verifier: sso.verifier })
  t.equal(tokens.statusCode, 200, tokens.body)
  const claims = decodeJwt(tokens.json().id_token)
  t.equal(claims.sub, alice.id)
  t.equal(claims.aud, appB.client.id)
  t.equal(claims.auth_time, authTime, 'auth_time is the original login, not the SSO request')
})

for (const [what, extra] of [
  ['prompt=login', { prompt: 'login' }],
  ['max_age=0', { max_age: '0' }],
] as const) {
  t.test(`${what} shows the login page again and the new ID token has a newer auth_time`, async (t) => {
    const { jar, authTime } = await signedInBrowser()
    ctx.clock.advance(120)
    const first = await ctx.app.inject({
      method: 'GET',
      url: authorizeUrl(authorizeParams(appA, extra)),
      headers: { cookie: jar.header() },
    })
    t.equal(first.statusCode, 303)
    t.match(first.headers.location, /^\/login\?interaction=/, 'the login page, despite the session')

    const { tokens } = await signIn(ctx, appA, alice, { scope: 'openid', params: extra, jar })
    const claims = decodeJwt(tokens.id_token!)
    t.equal(claims.auth_time, ctx.clock.now(), 'auth_time is the new login')
    t.ok((claims.auth_time as number) > authTime, 'auth_time moved forward')
  })
}

t.test('max_age: an older login is redone, a recent one is reused', async (t) => {
  const { jar, authTime } = await signedInBrowser()
  ctx.clock.advance(90)
  const recentEnough = await ctx.app.inject({
    method: 'GET',
    url: authorizeUrl(authorizeParams(appA, { max_age: '3600' })),
    headers: { cookie: jar.header() },
  })
  t.equal(recentEnough.statusCode, 303)
  t.ok(new URL(recentEnough.headers.location as string, ctx.issuer).searchParams.get('code'), 'code without login')

  const tooOld = await ctx.app.inject({
    method: 'GET',
    url: authorizeUrl(authorizeParams(appA, { max_age: '60' })),
    headers: { cookie: jar.header() },
  })
  t.match(tooOld.headers.location, /^\/login\?interaction=/, 'login page when auth_time is older than max_age')
  const silent = await ctx.app.inject({
    method: 'GET',
    url: authorizeUrl(authorizeParams(appA, { max_age: '60', prompt: 'none' })),
    headers: { cookie: jar.header() },
  })
  t.equal(
    new URL(silent.headers.location as string).searchParams.get('error'),
    'login_required',
    'prompt=none + stale max_age → login_required',
  )

  const { tokens } = await signIn(ctx, appA, alice, { scope: 'openid', params: { max_age: '60' }, jar })
  t.ok((decodeJwt(tokens.id_token!).auth_time as number) > authTime)
})

t.test('id_token_hint naming another user with prompt=none → login_required', async (t) => {
  const { jar, idToken: aliceIdToken } = await signedInBrowser()
  const { tokens: bobTokens } = await signIn(ctx, appA, bob, { scope: 'openid', jar: new CookieJar() })
  t.equal(decodeJwt(bobTokens.id_token!).sub, bob.id)

  const other = await ctx.app.inject({
    method: 'GET',
    url: authorizeUrl(authorizeParams(appA, { prompt: 'none', id_token_hint: bobTokens.id_token! })),
    headers: { cookie: jar.header() },
  })
  t.equal(other.statusCode, 303)
  const location = new URL(other.headers.location as string)
  t.equal(location.searchParams.get('error'), 'login_required')
  t.equal(location.searchParams.get('code'), null)
  t.equal(location.searchParams.get('state'), 's1')
  t.equal(location.searchParams.get('iss'), ctx.issuer)

  const same = await ctx.app.inject({
    method: 'GET',
    url: authorizeUrl(authorizeParams(appA, { prompt: 'none', id_token_hint: aliceIdToken })),
    headers: { cookie: jar.header() },
  })
  t.ok(new URL(same.headers.location as string).searchParams.get('code'), "the session user's own hint gives a code")
})

t.test('nonce is returned identically; without nonce there is no nonce claim', async (t) => {
  const jar = new CookieJar()
  const nonce = 'n-0S6_WzA2Mj ü+/=%20"\''
  const { tokens: withNonce } = await signIn(ctx, appA, alice, { scope: 'openid', params: { nonce }, jar })
  t.equal(decodeJwt(withNonce.id_token!).nonce, nonce)
  const { tokens: withoutNonce } = await signIn(ctx, appB, alice, { scope: 'openid', jar })
  t.notOk('nonce' in decodeJwt(withoutNonce.id_token!), 'no nonce claim')
})

t.test('a third-party client gets no code before consent', async (t) => {
  const { jar } = await signedInBrowser()
  const silent = await ctx.app.inject({
    method: 'GET',
    url: authorizeUrl(authorizeParams(thirdParty, { prompt: 'none' })),
    headers: { cookie: jar.header() },
  })
  t.equal(silent.statusCode, 303)
  const silentLocation = new URL(silent.headers.location as string, ctx.issuer)
  t.equal(silentLocation.searchParams.get('code'), null, 'prompt=none: no code without consent')
  t.equal(silentLocation.searchParams.get('error'), 'consent_required')

  const interactive = await ctx.app.inject({
    method: 'GET',
    url: authorizeUrl(authorizeParams(thirdParty)),
    headers: { cookie: jar.header() },
  })
  const location = typeof interactive.headers.location === 'string' ? new URL(interactive.headers.location, ctx.issuer) : null
  t.notOk(location?.searchParams.get('code'), 'with a session: no code straight away')

  const fresh = await authorize(ctx, new CookieJar(), authorizeParams(thirdParty), alice)
  t.notOk(fresh.location?.searchParams.get('code'), 'after login: no code before a consent step')
})

// Last in this file: it moves the shared clock by more than a day.
t.test('sessions end after the idle timeout and after the absolute lifetime', async (t) => {
  const { idleTtl, absoluteTtl } = { idleTtl: ctx.deps.config.sessionIdleTtl, absoluteTtl: ctx.deps.config.sessionTtl }
  const silent = async (jar: CookieJar) => {
    const response = await ctx.app.inject({
      method: 'GET',
      url: authorizeUrl(authorizeParams(appA, { prompt: 'none' })),
      headers: { cookie: jar.header() },
    })
    return new URL(response.headers.location as string)
  }
  const idle = await signedInBrowser()
  ctx.clock.advance(idleTtl + 1)
  t.equal((await silent(idle.jar)).searchParams.get('error'), 'login_required', 'idle too long')

  const busy = await signedInBrowser()
  const step = Math.max(60, Math.floor(idleTtl / 2))
  let elapsed = 0
  while (elapsed + step < absoluteTtl) {
    ctx.clock.advance(step)
    elapsed += step
    t.ok((await silent(busy.jar)).searchParams.get('code'), `still signed in after ${elapsed}s of activity`)
  }
  ctx.clock.advance(absoluteTtl - elapsed + 1)
  t.equal((await silent(busy.jar)).searchParams.get('error'), 'login_required', 'absolute lifetime reached despite activity')
})
