/**
 * Role-based access in an API in a separate process (test/clients/fixtures/resource-server-rbac.mjs,
 * the README example): tokens from a real code flow over HTTP, roles changed with `idp users
 * set-roles` on the running server's database.
 */
import t from 'tap'
import path from 'node:path'
import * as client from 'openid-client'
import { runCli } from '../../src/cli/main.js'
import { createTestApp } from '../helpers/test-app.js'
import { discover, runCodeFlow } from '../helpers/code-flow.js'
import { startFixture } from '../helpers/processes.js'

const REDIRECT_URI = 'https://rp.example/callback'

async function call(
  baseUrl: string,
  route: string,
  token: string | null,
): Promise<{ status: number; body: Record<string, unknown>; challenge: string | null }> {
  const response = await fetch(`${baseUrl}${route}`, {
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(10_000),
  })
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown>,
    challenge: response.headers.get('www-authenticate'),
  }
}

t.test('an API allows /admin only to tokens whose roles include admin', async (t) => {
  const ctx = await createTestApp({ listen: true, env: { LOGIN_RATE_LIMIT: '1000' } })
  t.teardown(() => ctx.close())
  const { client: registered, secret } = await ctx.addClient({ redirectUris: [REDIRECT_URI] })
  const admin = await ctx.addUser({ roles: ['admin', 'ops'] })
  const member = await ctx.addUser({ roles: ['ops'] })
  const config = await discover(ctx.issuer, registered.id, secret!, client.ClientSecretBasic())
  const accessToken = async (credentials: { email: string; password: string }) =>
    (await runCodeFlow(config, { redirectUri: REDIRECT_URI, credentials })).tokens.access_token

  const api = await startFixture(t, 'resource-server-rbac.mjs', { ISSUER: ctx.issuer })
  const adminToken = await accessToken(admin)
  const memberToken = await accessToken(member)

  const asAdmin = await call(api.url, '/admin', adminToken)
  t.equal(asAdmin.status, 200, 'an admin gets in')
  t.same(asAdmin.body, { sub: admin.id, roles: ['admin', 'ops'] })
  const asMember = await call(api.url, '/admin', memberToken)
  t.equal(asMember.status, 403, 'a valid token without the admin role is forbidden')
  t.same(asMember.body, { error: 'forbidden' })
  t.same((await call(api.url, '/me', memberToken)).body, { sub: member.id, roles: ['ops'] }, 'but the same token is good for /me')
  const anonymous = await call(api.url, '/admin', null)
  t.equal(anonymous.status, 401, 'no token → 401')
  t.match(anonymous.challenge, /^Bearer/)
  const [header, payload, signature] = adminToken.split('.') as [string, string, string]
  const forged = `${header}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), roles: ['admin'], sub: member.id })).toString('base64url')}.${signature}`
  t.equal((await call(api.url, '/admin', forged)).status, 401, 'a token whose roles were edited → 401')

  // The operator takes the admin role away while both servers keep running.
  const stderr: string[] = []
  const code = await runCli(['users', 'set-roles', admin.email, 'ops', '--json'], {
    env: { DATABASE_URL: ctx.databaseUrl, KEYS_DIR: path.join(ctx.dir, 'keys'), ISSUER: ctx.issuer, LOG_LEVEL: 'silent' },
    stdout: () => undefined,
    stderr: (line) => stderr.push(line),
    readStdin: async () => '',
  })
  t.equal(code, 0, stderr.join('\n') || 'set-roles succeeded')

  const after = await accessToken(admin)
  const demoted = await call(api.url, '/admin', after)
  t.equal(demoted.status, 403, 'a token issued after set-roles no longer opens /admin')
  t.same((await call(api.url, '/me', after)).body, { sub: admin.id, roles: ['ops'] })
  t.equal((await call(api.url, '/admin', adminToken)).status, 200, 'as documented, a token issued before keeps its roles until it expires')
})
