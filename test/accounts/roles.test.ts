/**
 * Roles for resource-server RBAC: every user access token carries `roles` (sorted, no duplicates,
 * `[]` when there are none); ID tokens and userinfo carry them only with the `roles` scope; tokens
 * of a client acting for itself carry none; a change reaches the next token, not the ones issued.
 */
import t from 'tap'
import { claims, post, refresh, signIn, userinfo, type Tokens } from '../helpers/client.js'
import { createTestApp, type TestApp } from '../helpers/test-app.js'

async function codeFlowClient(ctx: TestApp) {
  const { client, secret } = await ctx.addClient({ grantTypes: ['authorization_code', 'refresh_token'] })
  return { client, secret }
}

t.test('the access token carries the roles without the roles scope; ID token and userinfo only with it', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await codeFlowClient(ctx)
  const admin = await ctx.addUser({ roles: ['billing', 'admin', 'billing'] })

  const plain = await signIn(ctx, rp, admin, { scope: 'openid offline_access' })
  t.same(claims(plain.tokens.access_token)['roles'], ['admin', 'billing'], 'sorted and deduplicated, no roles scope needed')
  t.notOk('roles' in claims(plain.tokens.id_token!), 'no roles in the ID token without the scope')
  const plainInfo = await userinfo(ctx, plain.tokens.access_token)
  t.equal(plainInfo.statusCode, 200)
  t.notOk('roles' in plainInfo.json(), 'no roles from userinfo without the scope')

  const email = await signIn(ctx, rp, admin, { scope: 'openid email' })
  t.same(claims(email.tokens.access_token)['roles'], ['admin', 'billing'])
  t.notOk('roles' in claims(email.tokens.id_token!), 'the email scope does not bring roles into the ID token')
  const emailInfo = (await userinfo(ctx, email.tokens.access_token)).json() as Record<string, unknown>
  t.equal(emailInfo['email'], admin.email, 'the email scope works')
  t.notOk('roles' in emailInfo, 'nor into userinfo')

  const scoped = await signIn(ctx, rp, admin, { scope: 'openid roles' })
  t.equal(scoped.tokens.scope.split(' ').includes('roles'), true, 'the roles scope is granted')
  t.same(claims(scoped.tokens.access_token)['roles'], ['admin', 'billing'])
  t.same(claims(scoped.tokens.id_token!)['roles'], ['admin', 'billing'], 'ID token with the roles scope')
  const scopedInfo = await userinfo(ctx, scoped.tokens.access_token)
  t.equal(scopedInfo.statusCode, 200)
  t.same(scopedInfo.json(), { sub: admin.id, roles: ['admin', 'billing'] }, 'userinfo with the roles scope')
})

t.test('a user without roles gets roles: [] in the access token', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await codeFlowClient(ctx)
  const user = await ctx.addUser()
  const { tokens } = await signIn(ctx, rp, user, { scope: 'openid roles' })
  t.same(claims(tokens.access_token)['roles'], [], 'present and empty, so APIs can rely on an array')
  t.same(claims(tokens.id_token!)['roles'], [])
  t.same((await userinfo(ctx, tokens.access_token)).json(), { sub: user.id, roles: [] })
})

t.test('client_credentials tokens carry no roles', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const service = await ctx.addClient({ grantTypes: ['client_credentials'], redirectUris: [], scopes: ['api:read'] })
  const response = await post(ctx, '/token', service, { grant_type: 'client_credentials' })
  t.equal(response.statusCode, 200, response.statusCode === 200 ? 'token issued' : response.body)
  const jwt = claims((response.json() as Tokens).access_token)
  t.equal(jwt['sub'], service.client.id)
  t.notOk('roles' in jwt, 'a client acting for itself has no user roles')
})

t.test('a change of roles shows up in the next refresh', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await codeFlowClient(ctx)
  const user = await ctx.addUser({ roles: ['admin'] })
  const first = await signIn(ctx, rp, user, { scope: 'openid roles offline_access' })
  t.same(claims(first.tokens.access_token)['roles'], ['admin'])

  await ctx.deps.repos.users.setRoles(user.id, ['support', 'auditor'], ctx.clock.now())
  const second = await refresh(ctx, rp, first.tokens.refresh_token!)
  t.equal(second.statusCode, 200, second.statusCode === 200 ? 'refreshed' : second.body)
  const refreshed = second.json() as Tokens
  t.same(claims(refreshed.access_token)['roles'], ['auditor', 'support'], 'the refreshed access token has the new roles')
  t.same(claims(refreshed.id_token!)['roles'], ['auditor', 'support'], 'so has the refreshed ID token')
  t.same(claims(first.tokens.access_token)['roles'], ['admin'], 'the earlier token keeps what it was issued with (it is a signed JWT)')
  t.same((await userinfo(ctx, refreshed.access_token)).json(), { sub: user.id, roles: ['auditor', 'support'] })

  await ctx.deps.repos.users.setRoles(user.id, [], ctx.clock.now())
  const third = await refresh(ctx, rp, refreshed.refresh_token!)
  t.equal(third.statusCode, 200, third.statusCode === 200 ? 'refreshed again' : third.body)
  t.same(claims((third.json() as Tokens).access_token)['roles'], [], 'cleared roles reach the next token too')
})

t.test('discovery lists the roles scope and claim', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const response = await ctx.app.inject({ method: 'GET', url: '/.well-known/openid-configuration' })
  t.equal(response.statusCode, 200)
  const metadata = response.json() as Record<string, unknown>
  t.ok((metadata['scopes_supported'] as string[]).includes('roles'), 'scopes_supported has roles')
  t.ok((metadata['claims_supported'] as string[]).includes('roles'), 'claims_supported has roles')
})
