/**
 * The headline test of the key lifecycle: the real server under steady token traffic, rotated
 * twice by the `idp` CLI, verified by a resource server that behaves like a real one (jose's
 * createRemoteJWKSet with its default 30 s cooldown, one JWKS set for the whole run).
 *
 * Expected (docs/security.md §F): no token is signed by a key the resource server could not have
 * fetched, so zero verification failures and zero non-200 token responses; old tokens keep
 * verifying after the rotations because retired keys stay published.
 */
import t from 'tap'
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import { freePort } from '../helpers/free-port.js'
import { clientCredentialsGrant, json } from '../helpers/http-client.js'
import { sleep, snapshotBuild, withTimeout } from '../helpers/processes.js'
import { idp, listKeys, newInstall, startServer, type CliRun } from './support.js'

const LOOPS = 4
const FIRST_ROTATION_MS = 3_000
// jose refetches the JWKS for an unknown kid at most once per 30 s (its default cooldown); the
// second rotation promotes a key the resource server has never seen, so it must come later.
const SECOND_ROTATION_MS = 36_000
const LOAD_MS = 45_000
/** Load keeps running at least this long after the second rotation finished. */
const AFTER_LAST_ROTATION_MS = 6_000
const KEPT_PER_KID = 3

t.setTimeout(300_000)

t.test('two CLI rotations under load: every token verifies at a resource server', async (t) => {
  const { main, bin } = await snapshotBuild()
  const port = await freePort()
  const { env } = newInstall(port)
  const server = await startServer(t, main, env)
  const issuer = server.issuer

  const added = await idp(bin, ['clients', 'add', '--name', 'load', '--grant-type', 'client_credentials', '--scope', 'api:read', '--json'], env)
  t.equal(added.code, 0, `clients add exits 0 (${added.stderr})`)
  const client = { id: added.json['client_id'] as string, secret: added.json['client_secret'] as string }

  const initial = await listKeys(bin, env)
  t.same(initial.map((key) => key.state).sort(), ['active', 'next'], 'a fresh install has one active and one next key')
  const initialActive = initial.find((key) => key.state === 'active')!.kid

  const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(10_000) })).json()) as { jwks_uri: string }
  // One remote set, created before the load, shared by every loop: a real resource server.
  const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri))
  const verify = (token: string) => jwtVerify(token, jwks, { algorithms: ['RS256'], issuer, audience: issuer, typ: 'at+jwt' })

  const stats = { issued: 0, verified: 0, non200: 0, failures: 0, requestErrors: 0 }
  const problems: string[] = []
  const kids = new Map<string, number>()
  const kept = new Map<string, string[]>()
  let stop = false

  async function loop(): Promise<void> {
    while (!stop) {
      let token: string
      try {
        const answer = await clientCredentialsGrant(issuer, client)
        if (answer.status !== 200) {
          stats.non200++
          if (problems.length < 10) problems.push(`token endpoint ${answer.status}: ${answer.text}`)
          continue
        }
        token = json(answer)['access_token'] as string
        stats.issued++
      } catch (error) {
        stats.requestErrors++
        if (problems.length < 10) problems.push(`token request failed: ${String(error)}`)
        continue
      }
      const { kid = '?' } = decodeProtectedHeader(token)
      kids.set(kid, (kids.get(kid) ?? 0) + 1)
      const keep = kept.get(kid) ?? []
      if (keep.length < KEPT_PER_KID) kept.set(kid, [...keep, token])
      try {
        await verify(token)
        stats.verified++
      } catch (error) {
        stats.failures++
        if (problems.length < 10) problems.push(`kid ${kid}: ${(error as Error & { code?: string }).code ?? ''} ${(error as Error).message}`)
      }
    }
  }

  const started = Date.now()
  const loops = Array.from({ length: LOOPS }, () => loop())
  const rotations: { at: number; run: CliRun }[] = []
  const rotate = async () => {
    const run = await idp(bin, ['keys', 'rotate', '--json'], env)
    rotations.push({ at: Date.now() - started, run })
    return run
  }

  await sleep(FIRST_ROTATION_MS)
  await rotate()
  await sleep(Math.max(0, SECOND_ROTATION_MS - (Date.now() - started)))
  await rotate()
  await sleep(Math.max(AFTER_LAST_ROTATION_MS, LOAD_MS - (Date.now() - started)))
  stop = true
  await withTimeout(Promise.all(loops), 60_000, 'the load loops to finish')
  const elapsed = Date.now() - started

  for (const [index, { at, run }] of rotations.entries()) {
    t.equal(run.code, 0, `rotation ${index + 1} exits 0 (${run.stderr.trim()})`)
    t.type(run.json['active_kid'], 'string', `rotation ${index + 1} names the new active key`)
    t.comment(`rotation ${index + 1} finished at ${(at / 1000).toFixed(1)} s: ${JSON.stringify(run.json)}`)
  }
  t.comment(`load: ${elapsed} ms, ${LOOPS} loops, issued ${stats.issued}, verified ${stats.verified}, verification failures ${stats.failures}, non-200 ${stats.non200}, request errors ${stats.requestErrors}`)
  t.comment(`tokens per kid: ${JSON.stringify(Object.fromEntries(kids))}`)

  t.ok(stats.issued > 50, `a real load was applied (${stats.issued} tokens)`)
  t.equal(stats.failures, 0, `no verification failures${problems.length ? `: ${problems.join(' | ')}` : ''}`)
  t.equal(stats.non200, 0, 'no token request answered other than 200')
  t.equal(stats.requestErrors, 0, 'no token request dropped')
  t.equal(stats.verified, stats.issued, 'every issued token verified')
  t.ok(kids.size >= 3, `tokens were signed by at least 3 distinct kids (${kids.size})`)
  t.ok(kids.has(initialActive), 'the initial active key signed tokens before the rotations')
  const promoted = rotations.map(({ run }) => run.json['active_kid'] as string)
  for (const kid of promoted) t.ok(kids.has(kid), `the running server picked up the rotation to ${kid}`)

  t.test('tokens issued before the rotations still verify afterwards', async (t) => {
    const early = kept.get(initialActive) ?? []
    t.ok(early.length > 0, 'kept tokens from before the first rotation')
    const all = [...kept.values()].flat()
    for (const token of all) {
      const { kid } = decodeProtectedHeader(token)
      await t.resolves(verify(token), `a token signed by ${kid} verifies with the long-lived JWKS set`)
    }
    // A resource server starting now fetches the JWKS afresh: the retired keys must be in it.
    const fresh = createRemoteJWKSet(new URL(discovery.jwks_uri))
    for (const token of early) {
      await t.resolves(jwtVerify(token, fresh, { algorithms: ['RS256'], issuer, typ: 'at+jwt' }), 'a pre-rotation token verifies against a freshly fetched JWKS')
    }
    const introspected = await fetch(`${issuer}/introspect`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: early[0]! }).toString(),
      signal: AbortSignal.timeout(10_000),
    })
    t.match(await introspected.json(), { active: true }, 'the server itself still accepts a pre-rotation token at /introspect')
  })

  t.test('the store ends with one active key and the retired ones still published', async (t) => {
    const keys = await listKeys(bin, env)
    t.equal(keys.filter((key) => key.state === 'active').length, 1, 'exactly one active key')
    t.equal(keys.filter((key) => key.state === 'retired').length, 2, 'two retired keys')
    t.ok(keys.some((key) => key.state === 'next'), 'a next key waits')
    t.notOk(server.exited(), 'the server ran throughout without a restart')
  })
})
