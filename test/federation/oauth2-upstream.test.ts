/**
 * A plain OAuth 2.0 upstream shaped like GitHub (no OpenID Connect): explicit endpoints, PKCE and
 * the client secret at its token endpoint, the user from its /user document through the claim
 * mapping, the numeric id as the subject; tokens kept (sealed) only when the connection asks.
 */
import t from 'tap'
import { openEnvelope } from '../../src/keys/envelope.js'
import { Browser } from '../helpers/client.js'
import { cliFor } from '../helpers/cli.js'
import { createTestApp } from '../helpers/test-app.js'
import { continueWith } from './support.js'
import { startGitHubLike } from './upstreams.js'

const ctx = await createTestApp()
t.teardown(() => ctx.close())
const github = await startGitHubLike()
t.teardown(() => github.close())
const idp = cliFor(ctx)

const endpoints = [
  '--authorization-endpoint',
  `${github.origin}/login/oauth/authorize`,
  '--token-endpoint',
  `${github.origin}/login/oauth/access_token`,
  '--user-endpoint',
  `${github.origin}/user`,
]

t.test('idp connections add --type oauth2 refuses what an OAuth 2.0 connection cannot use', async (t) => {
  const noSecret = await idp(['connections', 'add', '--name', 'GitHub', '--type', 'oauth2', '--client-id', github.clientId, ...endpoints])
  t.match(noSecret.stderr.join('\n'), /needs a client secret/)
  const badMap = await idp(
    [
      'connections',
      'add',
      '--name',
      'GitHub',
      '--type',
      'oauth2',
      '--client-id',
      github.clientId,
      '--client-secret-stdin',
      ...endpoints,
      '--map-claim',
      'roles=x',
    ],
    github.clientSecret,
  )
  t.match(badMap.stderr.join('\n'), /--map-claim roles=x: the claim must be one of sub, email, email_verified, name/)
  const oidcMap = await idp(['connections', 'add', '--name', 'X', '--issuer', github.origin, '--client-id', 'a', '--map-claim', 'sub=id'])
  t.match(oidcMap.stderr.join('\n'), /--map-claim is for --type oauth2/)
})

t.test('a GitHub-shaped sign-in creates an account from the /user document', async (t) => {
  const added = await idp(
    [
      'connections',
      'add',
      '--name',
      'GitHub',
      '--type',
      'oauth2',
      '--client-id',
      github.clientId,
      '--client-secret-stdin',
      ...endpoints,
      '--scope',
      'read:user',
      '--trust-email',
      '--store-tokens',
      '--json',
    ],
    `${github.clientSecret}\n`,
  )
  t.equal(added.code, 0, added.stderr.join('\n'))
  t.equal(added.json.issuer, github.origin, 'the issuer defaults to the authorization endpoint origin')
  github.nextUser = { id: 583231, login: 'octocat', name: 'The Octocat', email: 'octocat@github.test' }
  const browser = new Browser(ctx)
  const back = await continueWith(ctx, browser, 'github')
  t.equal(back.statusCode, 303, back.body.slice(0, 300))
  t.equal(back.headers.location, '/account')
  const user = await ctx.deps.repos.users.findByEmail('octocat@github.test')
  t.equal(user?.name, 'The Octocat')
  t.equal(user?.emailVerified, true, 'trusted: no email_verified field is mapped, so --trust-email decides')
  const identity = await ctx.deps.repos.federatedIdentities.findBySubject('github', '583231')
  t.equal(identity?.userId, user?.id, 'the numeric id is the subject')
  const request = github.tokenRequests.at(-1)!
  t.ok(request.get('code_verifier'), 'PKCE at the token endpoint')
  t.equal(request.get('client_secret'), github.clientSecret, 'the client secret was unsealed and sent')
  // --store-tokens: the upstream tokens are kept, sealed to this identity.
  const row = await ctx.deps.store.db
    .selectFrom('federated_identities')
    .select('tokens')
    .where('id', '=', identity!.id)
    .executeTakeFirstOrThrow()
  t.notMatch(row.tokens ?? '', /gho_/, 'not in clear text')
  const kept = JSON.parse(openEnvelope(ctx.deps.upstreamKey, row.tokens!, 'identity:github:583231').toString('utf8')) as Record<
    string,
    string
  >
  t.match(kept.access_token, /^gho_/)
})

t.test('a user document without an email cannot make an account', async (t) => {
  github.nextUser = { id: 99, login: 'ghost', name: null, email: null }
  const answer = await continueWith(ctx, new Browser(ctx), 'github')
  t.equal(answer.statusCode, 403)
  t.match(answer.body, /GitHub did not share your email address/)
  t.equal(await ctx.deps.repos.federatedIdentities.findBySubject('github', '99'), undefined)
})
