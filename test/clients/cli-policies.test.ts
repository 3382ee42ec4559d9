/**
 * The DPoP and PAR policies set through the real `idp clients` commands (in-process, on the test
 * app's database): `clients add --require-dpop` / `--require-par` store the policy (clients show)
 * and the server enforces it at /token and /authorize; `clients update --no-require-dpop` /
 * `--no-require-par` lift it, and `clients update --require-dpop --require-par` sets both again.
 */
import t, { type Test } from 'tap'
import { cliFor, type CliRun } from '../helpers/cli.js'
import { authorize, basic, CookieJar, FORM, pkcePair, post, type RegisteredClient, type Tokens } from '../helpers/client.js'
import { DpopKey } from '../helpers/dpop.js'
import { createTestApp } from '../helpers/test-app.js'

const ctx = await createTestApp()
t.teardown(() => ctx.close())
const cli = cliFor(ctx)
const REDIRECT_URI = 'https://rp.example/callback'

async function run(t: Test, argv: string[]): Promise<CliRun> {
  const result = await cli([...argv, '--json'])
  t.equal(result.code, 0, `idp ${argv.slice(0, 2).join(' ')}: ${result.stderr.join('\n')}`)
  return result
}

/** What `idp clients show` says the policies are. */
async function policies(t: Test, clientId: string): Promise<{ require_dpop: unknown; require_par: unknown }> {
  const { json } = await run(t, ['clients', 'show', clientId])
  return { require_dpop: json['require_dpop'], require_par: json['require_par'] }
}

async function registered(clientId: string, secret: string): Promise<RegisteredClient> {
  const client = await ctx.deps.repos.clients.find(clientId)
  if (!client) throw new Error(`no client ${clientId}`)
  return { client, secret }
}

/** client_credentials at /token, with a fresh DPoP proof or without one. */
async function clientCredentials(rp: RegisteredClient, withProof: boolean) {
  const grant = { grant_type: 'client_credentials', scope: 'api:read' }
  if (!withProof) return post(ctx, '/token', rp, grant)
  const key = await DpopKey.generate()
  return ctx.app.inject({
    method: 'POST',
    url: '/token',
    headers: {
      ...FORM,
      authorization: basic(rp.client.id, rp.secret!),
      dpop: await key.proof({ url: `${ctx.issuer}/token` }, ctx.clock.now()),
    },
    payload: new URLSearchParams(grant).toString(),
  })
}

/** A plain (not pushed) authorization request: where /authorize sends the browser. */
async function plainAuthorize(rp: RegisteredClient): Promise<{ error: string | null; toLogin: boolean }> {
  const { challenge } = pkcePair()
  const { response, location } = await authorize(ctx, new CookieJar(), {
    response_type: 'code',
    client_id: rp.client.id,
    redirect_uri: REDIRECT_URI,
    scope: 'openid',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  })
  return { error: location?.searchParams.get('error') ?? null, toLogin: /^\/login/.test(response.headers.location ?? '') }
}

t.test('clients add --require-dpop, then clients update --no-require-dpop', async (t) => {
  const added = await run(t, [
    'clients',
    'add',
    '--name',
    'Strict service',
    '--grant-type',
    'client_credentials',
    '--scope',
    'api:read',
    '--require-dpop',
  ])
  const id = added.json['client_id'] as string
  const service = await registered(id, added.json['client_secret'] as string)
  t.same(await policies(t, id), { require_dpop: true, require_par: false }, 'stored: DPoP required')

  const refused = await clientCredentials(service, false)
  t.equal(refused.statusCode, 400, 'a token request without a proof')
  t.match(refused.json(), { error: 'invalid_dpop_proof', error_description: /must send a DPoP proof/ })
  const bound = await clientCredentials(service, true)
  t.equal(bound.statusCode, 200, bound.body)
  t.equal((bound.json() as Tokens).token_type, 'DPoP', 'with a proof: a DPoP-bound token')

  const updated = await cli(['clients', 'update', id, '--no-require-dpop'])
  t.equal(updated.code, 0, updated.stderr.join('\n'))
  t.match(updated.stdout.join('\n'), /DPoP optional/, 'update says what the client now allows')
  t.same(await policies(t, id), { require_dpop: false, require_par: false }, 'stored: DPoP optional')
  const bearer = await clientCredentials(await registered(id, service.secret!), false)
  t.equal(bearer.statusCode, 200, `a token request without a proof is accepted again: ${bearer.body}`)
  t.equal((bearer.json() as Tokens).token_type, 'Bearer')
})

t.test('clients add --require-par, then clients update --no-require-par', async (t) => {
  const added = await run(t, ['clients', 'add', '--name', 'Strict web', '--redirect-uri', REDIRECT_URI, '--require-par'])
  const id = added.json['client_id'] as string
  const web = await registered(id, added.json['client_secret'] as string)
  t.same(await policies(t, id), { require_dpop: false, require_par: true }, 'stored: PAR required')

  const plain = await plainAuthorize(web)
  t.same(plain, { error: 'invalid_request', toLogin: false }, 'a plain authorization request is sent back with invalid_request')
  const { challenge } = pkcePair()
  const pushed = await post(ctx, '/par', web, {
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    scope: 'openid',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  })
  t.equal(pushed.statusCode, 201, pushed.body)
  const byReference = await authorize(ctx, new CookieJar(), {
    client_id: id,
    request_uri: (pushed.json() as { request_uri: string }).request_uri,
  })
  t.match(byReference.response.headers.location, /^\/login/, 'a pushed request goes on to the login')

  const updated = await cli(['clients', 'update', id, '--no-require-par'])
  t.equal(updated.code, 0, updated.stderr.join('\n'))
  t.match(updated.stdout.join('\n'), /PAR optional/)
  t.same(await policies(t, id), { require_dpop: false, require_par: false }, 'stored: PAR optional')
  t.same(await plainAuthorize(await registered(id, web.secret!)), { error: null, toLogin: true }, 'plain requests go to the login again')
})

t.test('clients update --require-dpop --require-par on a client that had neither', async (t) => {
  const added = await run(t, [
    'clients',
    'add',
    '--name',
    'Both',
    '--redirect-uri',
    REDIRECT_URI,
    '--grant-type',
    'authorization_code',
    '--grant-type',
    'client_credentials',
    '--scope',
    'api:read',
  ])
  const id = added.json['client_id'] as string
  const secret = added.json['client_secret'] as string
  t.same(await policies(t, id), { require_dpop: false, require_par: false }, 'neither by default')
  await run(t, ['clients', 'update', id, '--require-dpop', '--require-par'])
  t.same(await policies(t, id), { require_dpop: true, require_par: true }, 'both stored')
  const client = await registered(id, secret)
  t.match((await clientCredentials(client, false)).json(), { error: 'invalid_dpop_proof' }, 'enforced at /token')
  t.equal((await plainAuthorize(client)).error, 'invalid_request', 'enforced at /authorize')
})
