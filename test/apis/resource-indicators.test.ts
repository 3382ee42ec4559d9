/**
 * RFC 8707 resource indicators against registered APIs: the access token's aud is the API, its
 * scopes only the API's, one audience per token; refresh may switch between the APIs the grant
 * covers; client_credentials too; unknown or unpermitted resources are invalid_target; without a
 * resource nothing changes; userinfo takes only tokens for Tessera itself.
 */
import t from 'tap'
import { addApi, registerApi, removeApi } from '../../src/apis/registry.js'
import { updateClient } from '../../src/clients/lifecycle.js'
import { CLI_ACTOR } from '../../src/model/actor.js'
import { createTestApp } from '../helpers/test-app.js'
import {
  authorize,
  Browser,
  claims,
  CookieJar,
  obtainCode,
  pkcePair,
  post,
  redeem,
  refresh,
  RP,
  signIn,
  userinfo,
  type RegisteredClient,
  type Tokens,
} from '../helpers/client.js'

const PHOTOS = 'https://photos.example/api'
const CALENDAR = 'https://calendar.example'

t.test('resource indicators', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const now = ctx.clock.now()
  await registerApi(
    ctx.deps.repos.apis,
    {
      identifier: PHOTOS,
      name: 'Photos API',
      scopes: ['photos:read=See your photos', 'photos:write'],
      accessTokenTtl: 600,
      firstPartyOnly: false,
    },
    now,
  )
  await registerApi(
    ctx.deps.repos.apis,
    { identifier: CALENDAR, name: 'Calendar API', scopes: ['calendar:read'], accessTokenTtl: null, firstPartyOnly: false },
    now,
  )
  const user = await ctx.addUser()
  const web = await ctx.addClient({ name: 'Web', grantTypes: ['authorization_code', 'refresh_token'] })
  await ctx.deps.repos.apis.allow(web.client.id, [PHOTOS, CALENDAR])
  const photosOnly = await ctx.addClient({ name: 'Photos only', grantTypes: ['authorization_code', 'refresh_token'] })
  await ctx.deps.repos.apis.allow(photosOnly.client.id, [PHOTOS])
  const jar = new CookieJar()
  await obtainCode(ctx, web, user, { jar })

  const tokensFor = async (rp: RegisteredClient, params: Record<string, string>, redeemFields: Record<string, string> = {}) => {
    const { code, verifier } = await obtainCode(ctx, rp, user, { jar, params })
    return redeem(ctx, rp, code, { code_verifier: verifier, ...redeemFields })
  }

  await t.test('a token for one API: its identifier as aud, only its scopes, its lifetime', async (t) => {
    const response = await tokensFor(web, { resource: PHOTOS, scope: 'openid photos:read calendar:read offline_access' })
    t.equal(response.statusCode, 200, response.body)
    const tokens = response.json() as Tokens
    const access = claims(tokens.access_token)
    t.equal(access['aud'], PHOTOS)
    t.equal(access['scope'], 'photos:read', 'a scope of another API is not granted without its resource')
    t.equal(tokens.expires_in, 600)
    t.equal((access['exp'] as number) - (access['iat'] as number), 600)
    t.ok(tokens.id_token, 'openid still gives an ID token')
    t.equal(claims(tokens.id_token!)['aud'], web.client.id, 'the ID token is for the client, as ever')
    const rejected = await userinfo(ctx, tokens.access_token)
    t.equal(rejected.statusCode, 401, 'userinfo takes only tokens for Tessera itself')
    t.match(rejected.headers['www-authenticate'], /invalid_token/)
  })

  await t.test('without resource nothing changes (backward compatible)', async (t) => {
    const { tokens } = await signIn(ctx, web, user, { jar, scope: 'openid email' })
    const access = claims(tokens.access_token)
    t.equal(access['aud'], ctx.issuer, 'the default audience')
    t.equal(access['scope'], 'openid email')
    t.equal((await userinfo(ctx, tokens.access_token)).statusCode, 200)
  })

  await t.test('an API-only request needs no openid and gets no ID token', async (t) => {
    const response = await tokensFor(web, { resource: CALENDAR, scope: 'calendar:read' })
    t.equal(response.statusCode, 200, response.body)
    const tokens = response.json() as Tokens
    t.equal(tokens.id_token, undefined)
    t.equal(claims(tokens.access_token)['aud'], CALENDAR)
    t.equal(tokens.expires_in, ctx.deps.config.accessTokenTtl, 'the API has no lifetime of its own')
  })

  await t.test('refresh asks for a token for another API the grant covers (downscoping)', async (t) => {
    // One authorization covering both APIs: resource twice.
    const both = new URLSearchParams({
      response_type: 'code',
      client_id: web.client.id,
      redirect_uri: RP,
      scope: 'openid photos:read photos:write calendar:read offline_access',
    })
    both.append('resource', PHOTOS)
    both.append('resource', CALENDAR)
    const { verifier, challenge } = pkcePair()
    both.set('code_challenge', challenge)
    both.set('code_challenge_method', 'S256')
    const started = await new Browser(ctx, { jar }).get(`/authorize?${both.toString()}`)
    const code = new URL(started.headers.location!).searchParams.get('code')!
    t.ok(code, `a code for both APIs: ${started.headers.location}`)
    const first = await redeem(ctx, web, code, { code_verifier: verifier })
    const initial = first.json() as Tokens
    t.equal(claims(initial.access_token)['aud'], ctx.issuer, 'two APIs and no resource at the token endpoint: a token for Tessera')
    t.equal(claims(initial.access_token)['scope'], 'openid offline_access', '… with no API’s scopes')

    const forCalendar = await refresh(ctx, web, initial.refresh_token!, { resource: CALENDAR })
    t.equal(forCalendar.statusCode, 200, forCalendar.body)
    const calendarTokens = forCalendar.json() as Tokens
    t.equal(claims(calendarTokens.access_token)['aud'], CALENDAR)
    t.equal(claims(calendarTokens.access_token)['scope'], 'calendar:read')

    const forPhotos = await refresh(ctx, web, calendarTokens.refresh_token!, { resource: PHOTOS })
    const photosTokens = forPhotos.json() as Tokens
    t.equal(claims(photosTokens.access_token)['aud'], PHOTOS)
    t.equal(claims(photosTokens.access_token)['scope'], 'photos:read photos:write')

    const downscoped = await refresh(ctx, web, photosTokens.refresh_token!, { resource: PHOTOS, scope: 'photos:read offline_access' })
    t.equal(downscoped.statusCode, 200, downscoped.body)
    t.equal(claims((downscoped.json() as Tokens).access_token)['scope'], 'photos:read', 'a narrower scope too')

    const notCovered = await refresh(ctx, web, (downscoped.json() as Tokens).refresh_token!, { resource: 'https://other.example' })
    t.equal(notCovered.statusCode, 400)
    t.equal(notCovered.json().error, 'invalid_target', 'a resource the grant does not cover')
  })

  await t.test('a refused resource at refresh leaves the refresh token usable (checked before rotation)', async (t) => {
    const first = await tokensFor(web, { resource: PHOTOS, scope: 'openid photos:read offline_access' })
    t.equal(first.statusCode, 200, first.body)
    const { refresh_token: refreshToken } = first.json() as Tokens
    for (const [resource, why] of [
      ['https://other.example', 'not covered by the grant'],
      [CALENDAR, 'an API the client may use, but not in this grant'],
      ['not a uri', 'malformed'],
    ] as const) {
      const refused = await refresh(ctx, web, refreshToken!, { resource })
      t.equal(refused.statusCode, 400, why)
      t.equal(refused.json().error, 'invalid_target', why)
    }
    const retried = await refresh(ctx, web, refreshToken!, { resource: PHOTOS })
    t.equal(retried.statusCode, 200, `the same refresh token still works: ${retried.body}`)
    t.equal(claims((retried.json() as Tokens).access_token)['aud'], PHOTOS)
    const reuse = await ctx.deps.repos.auditEvents.list({ type: 'refresh_reuse', limit: 10 })
    t.equal(reuse.length, 0, 'no reuse was detected, no grant revoked')
  })

  await t.test('refresh judges the client’s API permission and scopes as they are now', async (t) => {
    const NOTES = 'https://notes.example'
    await addApi(
      ctx.deps,
      { identifier: NOTES, name: 'Notes', scopes: ['notes:read', 'notes:write'], accessTokenTtl: null, firstPartyOnly: false },
      CLI_ACTOR,
    )
    const notes = await ctx.addClient({ name: 'Notes app', grantTypes: ['authorization_code', 'refresh_token'] })
    await updateClient(ctx.deps, notes.client.id, { apis: [NOTES] }, CLI_ACTOR)
    const first = await tokensFor(notes, { resource: NOTES, scope: 'openid notes:read notes:write offline_access' })
    t.equal(first.statusCode, 200, first.body)
    const granted = first.json() as Tokens
    t.equal(claims(granted.access_token)['scope'], 'notes:read notes:write')

    await updateClient(ctx.deps, notes.client.id, { apis: [] }, CLI_ACTOR)
    for (const extra of [{ resource: NOTES }, {}] as Record<string, string>[]) {
      const refused = await refresh(ctx, notes, granted.refresh_token!, extra)
      t.equal(refused.json().error, 'invalid_target', `the API was taken from the client (${JSON.stringify(extra)})`)
    }
    await updateClient(ctx.deps, notes.client.id, { apis: [NOTES], scopes: ['openid', 'offline_access', 'notes:read'] }, CLI_ACTOR)
    const narrowed = await refresh(ctx, notes, granted.refresh_token!, { resource: NOTES })
    t.equal(narrowed.statusCode, 200, `the same refresh token, once allowed again: ${narrowed.body}`)
    t.equal(claims((narrowed.json() as Tokens).access_token)['scope'], 'notes:read', 'a scope the client lost is left out')

    await removeApi(ctx.deps, NOTES, CLI_ACTOR)
    const { refresh_token: next } = narrowed.json() as Tokens
    const gone = await refresh(ctx, notes, next!, { resource: NOTES })
    t.match(gone.json(), { error: 'invalid_target', error_description: /no longer registered/ })
    const plain = await refresh(ctx, notes, next!, { resource: NOTES, scope: 'openid' })
    t.equal(plain.json().error, 'invalid_target', 'still the same refresh token, still refused for the removed API')
  })

  await t.test('a client registered with some of an API’s scopes gets only those', async (t) => {
    const reader = await ctx.addClient({
      name: 'Photo reader',
      grantTypes: ['authorization_code', 'client_credentials'],
      scopes: ['openid', 'photos:read'],
    })
    await ctx.deps.repos.apis.allow(reader.client.id, [PHOTOS])
    const viaCode = await tokensFor(reader, { resource: PHOTOS, scope: 'openid photos:read photos:write' })
    t.equal(viaCode.statusCode, 200, viaCode.body)
    t.equal(claims((viaCode.json() as Tokens).access_token)['scope'], 'photos:read', '/authorize drops photos:write')
    const viaService = await post(ctx, '/token', reader, { grant_type: 'client_credentials', resource: PHOTOS })
    t.equal(claims((viaService.json() as Tokens).access_token)['scope'], 'photos:read', 'client_credentials: none asked, its one')
    const wider = await post(ctx, '/token', reader, { grant_type: 'client_credentials', resource: PHOTOS, scope: 'photos:write' })
    t.equal(wider.json().error, 'invalid_scope', 'a scope of the API it was not registered for')
  })

  await t.test('unknown, unpermitted and malformed resources are invalid_target at /authorize', async (t) => {
    for (const [resource, why] of [
      ['https://unknown.example', 'not a registered API'],
      [CALENDAR, 'an API the client was not allowed'],
      ['https://photos.example/api#frag', 'a fragment'],
      ['photos', 'not an absolute URI'],
    ] as const) {
      const client = resource === CALENDAR ? photosOnly : web
      const { challenge } = pkcePair()
      const { location } = await authorize(ctx, jar, {
        response_type: 'code',
        client_id: client.client.id,
        redirect_uri: RP,
        scope: 'openid',
        resource,
        state: 's',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      })
      t.equal(location?.searchParams.get('error'), 'invalid_target', why)
      t.equal(location?.searchParams.get('state'), 's')
    }
  })

  await t.test('the token endpoint refuses a second resource', async (t) => {
    const { code, verifier } = await obtainCode(ctx, web, user, { jar, params: { resource: PHOTOS, scope: 'openid photos:read' } })
    const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: RP, code_verifier: verifier })
    body.append('resource', PHOTOS)
    body.append('resource', CALENDAR)
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/token',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${web.client.id}:${web.secret}`).toString('base64')}`,
      },
      payload: body.toString(),
    })
    t.equal(response.statusCode, 400)
    t.equal(response.json().error, 'invalid_target')
  })

  await t.test('client_credentials with a resource', async (t) => {
    const service = await ctx.addClient({ name: 'Service', redirectUris: [], grantTypes: ['client_credentials'], scopes: ['reports'] })
    await ctx.deps.repos.apis.allow(service.client.id, [PHOTOS])
    const forPhotos = await post(ctx, '/token', service, { grant_type: 'client_credentials', resource: PHOTOS })
    t.equal(forPhotos.statusCode, 200, forPhotos.body)
    const token = claims((forPhotos.json() as Tokens).access_token)
    t.equal(token['aud'], PHOTOS)
    t.equal(token['scope'], 'photos:read photos:write', 'all of the API’s scopes when none are asked for')
    t.equal(token['sub'], service.client.id)
    const narrow = await post(ctx, '/token', service, { grant_type: 'client_credentials', resource: PHOTOS, scope: 'photos:read' })
    t.equal(claims((narrow.json() as Tokens).access_token)['scope'], 'photos:read')
    const foreignScope = await post(ctx, '/token', service, { grant_type: 'client_credentials', resource: PHOTOS, scope: 'reports' })
    t.equal(foreignScope.json().error, 'invalid_scope', 'the client’s own scopes are not the API’s')
    const unpermitted = await post(ctx, '/token', service, { grant_type: 'client_credentials', resource: CALENDAR })
    t.equal(unpermitted.json().error, 'invalid_target')
    const plain = await post(ctx, '/token', service, { grant_type: 'client_credentials' })
    t.equal(claims((plain.json() as Tokens).access_token)['aud'], ctx.issuer, 'without resource: as before')
  })

  await t.test('the consent page names the API and describes its scopes', async (t) => {
    const thirdParty = await ctx.addClient({ name: 'Gallery', firstParty: false, grantTypes: ['authorization_code'] })
    await ctx.deps.repos.apis.allow(thirdParty.client.id, [PHOTOS])
    const { challenge } = pkcePair()
    const { response } = await authorize(ctx, jar, {
      response_type: 'code',
      client_id: thirdParty.client.id,
      redirect_uri: RP,
      scope: 'openid photos:read',
      resource: PHOTOS,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    })
    t.match(response.headers.location, /^\/consent\?/)
    const page = await new Browser(ctx, { jar }).get(response.headers.location!)
    t.match(page.body, /Photos API/)
    t.match(page.body, /See your photos/)
    t.match(page.body, /rp\.example/, 'the host the browser returns to')
  })
})
