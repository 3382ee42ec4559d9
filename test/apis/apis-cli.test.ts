/**
 * `idp apis add|list|remove` through the CLI: the audited registry service (api_registered and
 * api_removed name the CLI as actor), its rules (Tessera's own admin API identifier is reserved),
 * and what --first-party-only and --access-token-ttl change for clients.
 */
import t from 'tap'
import { cliFor } from '../helpers/cli.js'
import { claims, CookieJar, obtainCode, pkcePair, redeem, type Tokens } from '../helpers/client.js'
import { createTestApp } from '../helpers/test-app.js'

const ctx = await createTestApp({ env: { REGISTRATION: 'open' } })
t.teardown(() => ctx.close())
const cli = cliFor(ctx)
const PHOTOS = 'https://photos.example/api'
const PAYROLL = 'https://payroll.example/api'

const events = async (type: string) => (await ctx.deps.repos.auditEvents.list({ type, limit: 50 })).map((event) => event.detail)

t.test('add, list, remove', async (t) => {
  const added = await cli([
    'apis',
    'add',
    '--identifier',
    PHOTOS,
    '--name',
    'Photos API',
    '--scope',
    'photos:read=See your photos',
    '--scope',
    'photos:write',
    '--access-token-ttl',
    '10m',
    '--json',
  ])
  t.equal(added.code, 0, added.stderr.join('\n'))
  t.match(added.json, {
    identifier: PHOTOS,
    name: 'Photos API',
    scopes: [
      { name: 'photos:read', description: 'See your photos' },
      { name: 'photos:write', description: 'photos:write in Photos API' },
    ],
    access_token_ttl: 600,
    first_party_only: false,
  })
  t.match(await events('api_registered'), [{ actor: 'cli', api: PHOTOS, scopes: ['photos:read', 'photos:write'] }], 'audited')

  const payroll = await cli(['apis', 'add', '--identifier', PAYROLL, '--name', 'Payroll', '--scope', 'payroll:read', '--first-party-only'])
  t.equal(payroll.code, 0, payroll.stderr.join('\n'))
  t.match(payroll.stdout.join('\n'), /aud https:\/\/payroll\.example\/api/)

  const listed = await cli(['apis', 'list', '--json'])
  t.equal(listed.code, 0)
  const listedApis = listed.json['apis'] as { identifier: string }[]
  t.match(
    [...listedApis].sort((a, b) => a.identifier.localeCompare(b.identifier)),
    [
      { identifier: PAYROLL, access_token_ttl: null, first_party_only: true },
      { identifier: PHOTOS, access_token_ttl: 600, first_party_only: false },
    ],
  )
  const table = await cli(['apis', 'list'])
  t.match(table.stdout.join('\n'), /payroll:read\s+default\s+yes/, 'the text table')

  const duplicate = await cli(['apis', 'add', '--identifier', PHOTOS, '--name', 'Again'])
  t.equal(duplicate.code, 1)
  t.match(duplicate.stderr.join('\n'), /--identifier: an API with this identifier already exists/)

  const temporary = 'https://temporary.example'
  t.equal((await cli(['apis', 'add', '--identifier', temporary, '--name', 'Temporary'])).code, 0)
  const removed = await cli(['apis', 'remove', temporary, '--json'])
  t.equal(removed.code, 0, removed.stderr.join('\n'))
  t.same(removed.json, { removed: temporary })
  t.match(await events('api_removed'), [{ actor: 'cli', api: temporary }], 'audited')
  t.notOk(await ctx.deps.repos.apis.find(temporary))
  const unknown = await cli(['apis', 'remove', temporary])
  t.equal(unknown.code, 1)
  t.match(unknown.stderr.join('\n'), /no API with identifier https:\/\/temporary\.example/)
})

t.test('the rules of the registry service apply to the CLI', async (t) => {
  for (const [args, message] of [
    [['--identifier', `${ctx.issuer}/admin/api/v1`, '--name', 'Mine'], /--identifier: is Tessera's own admin API/],
    [['--identifier', `${ctx.issuer}/admin/api/v1/orders`, '--name', 'Mine'], /--identifier: is Tessera's own admin API/],
    [['--identifier', 'https://api.example#frag', '--name', 'X'], /--identifier: must not contain a fragment/],
    [['--identifier', 'http://api.example', '--name', 'X'], /--identifier: must be an https URL/],
    [['--identifier', 'https://api.example', '--name', 'X', '--access-token-ttl', '2h'], /--access-token-ttl: must be between/],
    [['--identifier', 'https://api.example', '--name', 'X', '--access-token-ttl', 'soon'], /--access-token-ttl takes a duration/],
    [['--identifier', 'https://api.example', '--name', 'X', '--scope', 'openid'], /--scope: "openid" is an OpenID scope/],
  ] as const) {
    const refused = await cli(['apis', 'add', ...args])
    t.equal(refused.code, 1, args.join(' '))
    t.match(refused.stderr.join('\n'), message, args.join(' '))
  }
  t.notOk(await ctx.deps.repos.apis.find(`${ctx.issuer}/admin/api/v1`), 'nothing stored')
})

t.test('what the flags change: the token lifetime, and who may ask', async (t) => {
  const user = await ctx.addUser()
  const web = await ctx.addClient({ name: 'Web', grantTypes: ['authorization_code'] })
  await ctx.deps.repos.apis.allow(web.client.id, [PHOTOS, PAYROLL])
  const jar = new CookieJar()
  const { code, verifier } = await obtainCode(ctx, web, user, { jar, params: { resource: PHOTOS, scope: 'openid photos:read' } })
  const tokens = (await redeem(ctx, web, code, { code_verifier: verifier })).json() as Tokens
  t.equal(tokens.expires_in, 600, '--access-token-ttl 10m')
  t.equal(claims(tokens.access_token)['aud'], PHOTOS)
  const operatorClient = await obtainCode(ctx, web, user, { jar, params: { resource: PAYROLL, scope: 'openid payroll:read' } })
  t.ok(operatorClient.code, 'a first-party-only API: an operator client allowed it may ask')

  const registered = (
    await ctx.app.inject({
      method: 'POST',
      url: '/register',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ redirect_uris: ['https://agent.example/cb'], token_endpoint_auth_method: 'none' }),
    })
  ).json() as { client_id: string }
  const { challenge } = pkcePair()
  const refused = await ctx.app.inject({
    url: `/authorize?${new URLSearchParams({
      response_type: 'code',
      client_id: registered.client_id,
      redirect_uri: 'https://agent.example/cb',
      scope: 'openid payroll:read',
      resource: PAYROLL,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    })}`,
  })
  t.equal(
    new URL(refused.headers.location!).searchParams.get('error'),
    'invalid_target',
    '--first-party-only: a self-registered client may not',
  )
})
