/**
 * Tessera scaled out on PostgreSQL: real server processes (`node dist/src/main.js`) on different
 * loopback ports, sharing one ISSUER (instance A's URL, as behind a load balancer), one fresh
 * database and one KEYS_DIR, with KEY_REFRESH_INTERVAL=1s. The database is reached through a TCP
 * proxy so that the last part can take it away and bring it back without touching PostgreSQL.
 *
 * Proves: three instances starting at once on an empty database all come up (migrations and key
 * creation serialised); CLI-made clients and users work everywhere; a code from A redeems at B,
 * refresh rotation and reuse detection span instances; the browser session of A is B's too, and
 * so is its logout; a CLI rotation reaches both within seconds and old tokens still verify; two
 * concurrent rotations leave one active key; login throttling counts across instances; a DPoP
 * proof used at A is a replay at B, a request pushed at A (/par) is taken at B's /authorize, and
 * a device code approved in a browser at A is redeemed by polling B; and a
 * database outage gives 503 + Retry-After (never a 500, a hang or a crash), keeps JWKS and
 * discovery up, and heals by itself. The outage comes three ways (see tcp-proxy.ts): the
 * server gone (connections reset), packets dropped for new connections (blackhole), and a
 * partition that silences open connections too (freeze); each time with a query in flight.
 *
 * Needs PostgreSQL: TEST_DATABASE_URL names a role that may CREATE DATABASE. Without it the file
 * is skipped, unless REQUIRE_POSTGRES=1 (CI), where that is a failure.
 */
import t, { type Test } from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import pg from 'pg'
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose'
import { createPostgresDatabase } from '../helpers/databases.js'
import { freePort } from '../helpers/free-port.js'
import { FORM } from '../helpers/client.js'
import { DpopKey } from '../helpers/dpop.js'
import {
  basic,
  claims,
  clientCredentialsGrant,
  clientPost,
  codeFrom,
  FetchCookieJar,
  hiddenField,
  HttpBrowser,
  introspect,
  json,
  loginForm,
  logoutAt,
  pkcePair,
  postLogin,
  redeemCode,
  refreshGrant,
  send,
  signIn,
  silentAuthorize,
  type Answer,
  type ClientCredentials,
} from '../helpers/http-client.js'
import { ROOT, scratchDir, sleep, snapshotBuild } from '../helpers/processes.js'
import { idpJson, logLines, runIdp, spawnInstance, stopAll, waitServing, type Instance } from './cluster.js'
import { TcpProxy, type OutageMode } from './tcp-proxy.js'
import { DEVICE_CODE_GRANT } from '../../src/model/client.js'

t.setTimeout(150_000)

const REDIRECT_URI = 'https://rp.example/callback'
const USER = { email: 'cluster.user@example.com', password: 'a cluster of quiet herons' }
/** pg's connectionTimeoutMillis is 5 s: a request must fail within about that. */
const FAIL_FAST_MS = 8_000
/** Past this a request counts as hung. */
const PROBE_TIMEOUT_MS = 10_000
const OUTAGES: readonly OutageMode[] = ['reset', 'blackhole', 'freeze']

const adminUrl = process.env['TEST_DATABASE_URL']
if (adminUrl === undefined || adminUrl === '') {
  if (process.env['REQUIRE_POSTGRES'] === '1')
    t.fail('REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set: this suite needs a PostgreSQL server')
  else t.plan(0, 'needs PostgreSQL: set TEST_DATABASE_URL=postgres://user:pass@127.0.0.1:5432/db (a role that may CREATE DATABASE)')
} else if (process.env['TEST_DATABASE'] === 'sqlite') {
  // The suite runs once per store (.ci/run); this file always uses PostgreSQL, so once is enough.
  t.plan(0, 'runs in the PostgreSQL pass of the suite (TEST_DATABASE=postgres)')
} else {
  t.test('a cluster of Tessera processes on one PostgreSQL database', (t) => cluster(t, adminUrl))
}

async function cluster(t: Test, adminUrl: string): Promise<void> {
  const build = await snapshotBuild()
  const dir = scratchDir('tessera-cluster-')
  const database = await createPostgresDatabase(adminUrl)
  const direct = new URL(database.url)
  const proxy = await TcpProxy.start({ host: direct.hostname, port: Number(direct.port || 5432) })
  const viaProxy = new URL(database.url)
  viaProxy.hostname = '127.0.0.1'
  viaProxy.port = String(proxy.port)

  const instances: Instance[] = []
  t.teardown(async () => {
    await stopAll(instances)
    await proxy.close()
    await database.drop()
  })

  const [portA, portB, portC] = [await freePort(), await freePort(), await freePort()] as [number, number, number]
  const issuer = `http://127.0.0.1:${portA}`
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: dir,
    ISSUER: issuer,
    DATABASE_URL: viaProxy.href,
    KEYS_DIR: path.join(dir, 'keys'),
    KEY_REFRESH_INTERVAL: '1s',
    // A next key signs only once published for KEY_REFRESH_INTERVAL + CLOCK_SKEW: 2 s here.
    CLOCK_SKEW: '1s',
    LOG_LEVEL: 'warn',
    NODE_ENV: 'test',
    // Per-instance, in-memory route limits out of the way: every 429 below comes from the database.
    LOGIN_RATE_LIMIT: '100000',
  }
  const idp = (...args: string[]) => idpJson(build.bin, args, env, dir)

  // 1. Three processes on an empty database, spawned together.
  const spawned = [
    spawnInstance('A', build.main, env, portA, dir),
    spawnInstance('B', build.main, env, portB, dir),
    spawnInstance('C', build.main, env, portC, dir),
  ]
  instances.push(...spawned)
  const [a, b, c] = spawned as [Instance, Instance, Instance]

  await t.test('three instances starting at once on an empty database all come up', async (t) => {
    const results = await Promise.allSettled(spawned.map((instance) => waitServing(instance)))
    for (const [index, result] of results.entries())
      t.equal(
        result.status,
        'fulfilled',
        `${spawned[index]!.name} serves${result.status === 'rejected' ? `: ${String(result.reason)}` : ''}`,
      )
    for (const instance of spawned) {
      t.equal((await send(`${instance.url}/readyz`)).status, 200, `${instance.name} is ready`)
      t.same(logLines(instance, 50), [], `${instance.name} logged no error while starting`)
    }

    const files = fs
      .readdirSync(path.join(ROOT, 'migrations'))
      .filter((file) => file.endsWith('.ts'))
      .map((file) => file.replace(/\.ts$/, ''))
      .sort()
    const recorded = async () => {
      const client = new pg.Client({ connectionString: database.url })
      await client.connect()
      try {
        return (await client.query<{ name: string }>('select name from kysely_migration order by name')).rows.map((row) => row.name)
      } finally {
        await client.end()
      }
    }
    const [migrated, keys, applied] = await Promise.all([idp('migrate'), idp('keys', 'list'), recorded()])
    t.same(migrated.applied, [], 'idp migrate afterwards has nothing to do')
    t.same(applied, files, 'each migration recorded exactly once')
    t.same(
      (keys.keys as { state: string }[]).map((key) => key.state).sort(),
      ['active', 'next'],
      'the racing key stores created exactly one active and one next key',
    )

    // The third instance leaves; the rest of the test runs on A and B.
    await c.child.stop(10_000)
    t.same(c.child.exitStatus, { code: 0, signal: null }, 'C shuts down cleanly')
  })

  // 2. A client, a service and a user made with the CLI.
  const [webAdded, serviceAdded, userAdded] = await Promise.all([
    idp(
      'clients',
      'add',
      '--name',
      'Cluster Web',
      '--redirect-uri',
      REDIRECT_URI,
      '--grant-type',
      'authorization_code',
      '--grant-type',
      'refresh_token',
    ),
    idp('clients', 'add', '--name', 'Cluster Service', '--grant-type', 'client_credentials', '--scope', 'api:read'),
    idpJson(
      build.bin,
      ['users', 'add', '--email', USER.email, '--name', 'Cluster User', '--password-stdin'],
      env,
      dir,
      `${USER.password}\n`,
    ),
  ])
  const web: ClientCredentials = { id: webAdded.client_id as string, secret: webAdded.client_secret as string }
  const service: ClientCredentials = { id: serviceAdded.client_id as string, secret: serviceAdded.client_secret as string }
  const user = USER
  const userId = userAdded.id as string
  const codeRequest = { clientId: web.id, redirectUri: REDIRECT_URI, scope: 'openid email offline_access' }

  await t.test('clients and users made with the CLI work on both instances', async (t) => {
    for (const [from, other] of [
      [a, b],
      [b, a],
    ] as const) {
      const issued = await clientCredentialsGrant(from.url, service)
      t.equal(issued.status, 200, `client_credentials at ${from.name}`)
      const seen = json(await introspect(other.url, service, json(issued).access_token as string))
      t.equal(seen.active, true, `${other.name} recognises the access token ${from.name} issued`)
      t.equal(seen.client_id, service.id)
    }
    for (const instance of [a, b]) {
      const signed = await signIn(instance.url, issuer, codeRequest, user, new FetchCookieJar())
      const tokens = await redeemCode(instance.url, web, signed.code, signed.pending.verifier, REDIRECT_URI)
      t.equal(tokens.status, 200, `the CLI user signs in at ${instance.name}`)
      t.equal(claims(json(tokens).id_token as string).sub, userId, 'as the user the CLI made')
    }
  })

  // 3 and 4 share one browser.
  const browser = new FetchCookieJar()
  let idToken = ''

  await t.test('a code from A redeems at B; refresh rotation and reuse detection span instances', async (t) => {
    const signed = await signIn(a.url, issuer, codeRequest, user, browser)
    const redeemed = await redeemCode(b.url, web, signed.code, signed.pending.verifier, REDIRECT_URI)
    t.equal(redeemed.status, 200, 'B redeems the code A issued')
    const tokens = json(redeemed)
    idToken = tokens.id_token as string
    const idClaims = claims(idToken)
    t.match(
      idClaims,
      { iss: issuer, sub: userId, aud: web.id, nonce: signed.pending.nonce },
      'the ID token from B names the shared issuer and A’s nonce',
    )
    t.type(tokens.refresh_token, 'string', 'offline_access gave a refresh token')

    const rotated = await refreshGrant(b.url, web, tokens.refresh_token as string)
    t.equal(rotated.status, 200, 'refresh at B')
    const fresh = json(rotated)
    t.not(fresh.refresh_token, tokens.refresh_token, 'the refresh token rotated')
    t.equal(json(await introspect(b.url, web, fresh.refresh_token as string)).active, true, 'the new refresh token is live at B')

    const reused = await refreshGrant(a.url, web, tokens.refresh_token as string)
    t.equal(reused.status, 400, 'the old refresh token reused at A is refused')
    t.equal(json(reused).error, 'invalid_grant')
    t.equal(json(await introspect(b.url, web, fresh.refresh_token as string)).active, false, 'B sees the whole family revoked')
    t.equal(json(await introspect(b.url, web, fresh.access_token as string)).active, false, 'and the family’s access token with it')
    t.equal(
      json(await refreshGrant(b.url, web, fresh.refresh_token as string)).error,
      'invalid_grant',
      'the newest refresh token no longer works at B',
    )
  })

  await t.test('the browser session made at A is valid at B, and so is its logout', async (t) => {
    const silent = await silentAuthorize(b.url, codeRequest, browser)
    t.equal(silent.callback.origin + silent.callback.pathname, REDIRECT_URI, 'prompt=none at B goes straight back to the client')
    const code = codeFrom(silent.callback, silent.pending, issuer)
    const redeemed = await redeemCode(a.url, web, code, silent.pending.verifier, REDIRECT_URI)
    t.equal(redeemed.status, 200, 'and its code redeems (at A)')
    t.equal(claims(json(redeemed).id_token as string).sub, userId)
    const replayed = await redeemCode(b.url, web, code, silent.pending.verifier, REDIRECT_URI)
    t.equal(json(replayed).error, 'invalid_grant', 'the same code replayed at B is refused')

    // The cookie as it was before logout: the logout must end the session row, not only the cookie.
    const before = new FetchCookieJar()
    for (const [name, value] of browser.cookies) before.cookies.set(name, value)
    const loggedOut = await logoutAt(a.url, browser, idToken)
    t.equal(loggedOut.status, 200, 'logout at A')
    t.match(loggedOut.text, /signed out/i)
    const after = await silentAuthorize(b.url, codeRequest, before)
    t.equal(
      after.callback.searchParams.get('error'),
      'login_required',
      'prompt=none at B with the pre-logout cookie now answers login_required',
    )
  })

  await t.test('DPoP proofs, pushed requests and device codes are shared: used at A, seen at B', async (t) => {
    // DPoP (RFC 9449 §11.1): the jti cache is the database, so a proof A accepted is a replay at B.
    // Proofs name the shared issuer's URL (htu), whichever instance the request reaches.
    const key = await DpopKey.generate()
    const withProof = (instance: Instance, proof: string) =>
      send(`${instance.url}/token`, {
        method: 'POST',
        headers: { ...FORM, accept: 'application/json', authorization: basic(service.id, service.secret), dpop: proof },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'api:read' }).toString(),
      })
    const proof = await key.proof({ url: `${issuer}/token` })
    const atA = await withProof(a, proof)
    t.equal(atA.status, 200, `A accepts the proof${atA.status === 200 ? '' : `: ${atA.text}`}`)
    t.equal(json(atA).token_type, 'DPoP')
    const replayed = await withProof(b, proof)
    t.equal(replayed.status, 400, 'the same proof at B')
    t.match(json(replayed), { error: 'invalid_dpop_proof', error_description: /used before/ }, 'is refused as a replay')
    t.equal((await withProof(b, await key.proof({ url: `${issuer}/token` }))).status, 200, 'a fresh proof of the key works at B')

    // PAR (RFC 9126 §4): pushed at A, the request_uri is taken at B's /authorize, once.
    const { verifier, challenge } = pkcePair()
    const pushed = await clientPost(a.url, '/par', web, {
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      scope: 'openid email',
      state: 'pushed-at-a',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    })
    t.equal(pushed.status, 201, `pushed at A${pushed.status === 201 ? '' : `: ${pushed.text}`}`)
    const requestUri = json(pushed).request_uri as string
    const byReference = `/authorize?${new URLSearchParams({ client_id: web.id, request_uri: requestUri })}`
    const jar = new FetchCookieJar()
    const toLogin = await send(`${b.url}${byReference}`, { jar, headers: { accept: 'text/html' } })
    t.equal(toLogin.status, 303, 'B knows the pushed request')
    const loginPath = new URL(toLogin.headers.get('location')!, b.url)
    const form = await loginForm(b.url, jar, `${loginPath.pathname}${loginPath.search}`)
    const loggedIn = await postLogin(b.url, issuer, jar, { ...user, ...form })
    t.equal(loggedIn.status, 303, 'signed in at B')
    const callback = new URL(loggedIn.headers.get('location')!, b.url)
    t.equal(callback.searchParams.get('state'), 'pushed-at-a', 'with the state pushed at A')
    const redeemed = await redeemCode(a.url, web, callback.searchParams.get('code')!, verifier, REDIRECT_URI)
    t.equal(redeemed.status, 200, 'its code redeems at A')
    t.equal(claims(json(redeemed).id_token as string).sub, userId)
    const again = await send(`${a.url}${byReference}`, { jar: new FetchCookieJar(), headers: { accept: 'text/html' } })
    t.equal(again.status, 400, 'the request_uri used at B is spent at A too')

    // Device authorization (RFC 8628): requested at A, approved in a browser at A, polled at B.
    const tv = await idp('clients', 'add', '--name', 'Cluster TV', '--public', '--grant-type', DEVICE_CODE_GRANT)
    const tvId = tv.client_id as string
    const started = await send(`${a.url}/device/authorization`, {
      method: 'POST',
      headers: { ...FORM, accept: 'application/json' },
      body: new URLSearchParams({ client_id: tvId, scope: 'openid' }).toString(),
    })
    t.equal(started.status, 200, `device authorization at A${started.status === 200 ? '' : `: ${started.text}`}`)
    const device = json(started) as { device_code: string; user_code: string; interval: number }
    const pollAt = (instance: Instance) =>
      send(`${instance.url}/token`, {
        method: 'POST',
        headers: { ...FORM, accept: 'application/json' },
        body: new URLSearchParams({ grant_type: DEVICE_CODE_GRANT, device_code: device.device_code, client_id: tvId }).toString(),
      })
    t.equal(json(await pollAt(b)).error, 'authorization_pending', 'B sees the device code A issued, still pending')

    const browser = new HttpBrowser(a.url)
    const loginPage = await browser.get('/login')
    const signedIn = await browser.post('/login', {
      _csrf: hiddenField(loginPage.body, '_csrf'),
      interaction: hiddenField(loginPage.body, 'interaction'),
      email: user.email,
      password: user.password,
    })
    t.equal(signedIn.status, 303, 'the user signs in at A')
    const devicePage = await browser.get(`/device?${new URLSearchParams({ user_code: device.user_code })}`)
    t.equal(devicePage.status, 200, 'and opens the device page at A')
    const decided = await browser.post('/device/decision', {
      _csrf: hiddenField(devicePage.body, '_csrf'),
      user_code: hiddenField(devicePage.body, 'user_code'),
      decision: 'approve',
    })
    t.equal(decided.status, 200, 'and allows the device')

    // The device waits its interval between polls (RFC 8628 §3.5), as it must, then polls B.
    let interval = device.interval
    let answer: Answer
    for (;;) {
      await sleep(interval * 1000)
      answer = await pollAt(b)
      const error = answer.status === 200 ? undefined : json(answer).error
      if (error === 'slow_down') interval += 5
      else if (error !== 'authorization_pending') break
    }
    t.equal(answer.status, 200, `B issues the tokens${answer.status === 200 ? '' : `: ${answer.text}`}`)
    t.equal(claims(json(answer).id_token as string).sub, userId, 'for the user who approved at A')
    t.equal(json(await pollAt(a)).error, 'invalid_grant', 'and the device code is spent at A too')
  })

  const kidAt = async (instance: Instance): Promise<{ kid: string; token: string }> => {
    const issued = await clientCredentialsGrant(instance.url, service)
    if (issued.status !== 200) throw new Error(`client_credentials at ${instance.name}: ${issued.status} ${issued.text}`)
    const token = json(issued).access_token as string
    return { kid: decodeProtectedHeader(token).kid as string, token }
  }
  const jwksOf = async (instance: Instance) => json(await send(`${instance.url}/.well-known/jwks.json`)) as unknown as JSONWebKeySet
  const bothSignWith = async (kid: string, ms = 10_000): Promise<number> => {
    const started = Date.now()
    for (;;) {
      const [atA, atB] = await Promise.all([kidAt(a), kidAt(b)])
      if (atA.kid === kid && atB.kid === kid) return Date.now() - started
      if (Date.now() - started > ms) throw new Error(`after ${ms} ms A signs with ${atA.kid}, B with ${atB.kid}, expected ${kid}`)
      await sleep(200)
    }
  }

  await t.test('idp keys rotate reaches both instances; earlier tokens still verify everywhere', async (t) => {
    const [beforeA, beforeB] = await Promise.all([kidAt(a), kidAt(b)])
    t.equal(beforeA.kid, beforeB.kid, 'both sign with the same key before')
    const rotated = await idp('keys', 'rotate')
    const newKid = rotated.active_kid as string
    t.not(newKid, beforeA.kid, 'the CLI promoted another key')
    const took = await bothSignWith(newKid)
    t.ok(took <= 10_000, `both instances sign with ${newKid} after ${took} ms (KEY_REFRESH_INTERVAL=1s)`)
    const [afterA, afterB] = await Promise.all([kidAt(a), kidAt(b)])
    for (const instance of [a, b]) {
      const jwks = createLocalJWKSet(await jwksOf(instance))
      for (const [label, token] of [
        ['A before', beforeA.token],
        ['B before', beforeB.token],
        ['A after', afterA.token],
        ['B after', afterB.token],
      ] as const) {
        const verified = await jwtVerify(token, jwks, { issuer, typ: 'at+jwt', algorithms: ['RS256'] }).then(
          () => 'verified',
          (error: unknown) => String(error),
        )
        t.equal(verified, 'verified', `token from ${label} the rotation verifies with ${instance.name}’s JWKS`)
      }
    }
  })

  await t.test('rotations at the same moment never leave two active keys', async (t) => {
    const before = ((await idp('keys', 'list')).keys as { activated_at: number | null }[]).filter((key) => key.activated_at !== null).length
    const runs = await Promise.all([1, 2, 3].map(() => runIdp(build.bin, ['keys', 'rotate'], env, dir)))
    t.same(
      runs.map((run) => run.code),
      [0, 0, 0],
      `three concurrent rotations all succeed${runs.some((run) => run.code !== 0) ? `: ${runs.map((run) => run.stderr).join(' | ')}` : ''}`,
    )
    const keys = (await idp('keys', 'list')).keys as { kid: string; state: string; activated_at: number | null }[]
    const active = keys.filter((key) => key.state === 'active')
    t.equal(active.length, 1, `exactly one active key (${JSON.stringify(keys.map((key) => key.state))})`)
    t.equal(keys.filter((key) => key.state === 'next').length, 1, 'exactly one next key')
    t.equal(keys.filter((key) => key.activated_at !== null).length - before, 3, 'each rotation promoted its own key, one after the other')
    if (active.length === 1) t.pass(`both instances sign with the one active key after ${await bothSignWith(active[0]!.kid)} ms`)
  })

  await t.test('failed logins for one email count across instances', async (t) => {
    const jar = new FetchCookieJar()
    // The anti-forgery token of A's form is good at B too: the form key is derived from the shared KEK.
    const form = await loginForm(a.url, jar)
    const attempt = (instance: Instance, email: string) =>
      postLogin(instance.url, issuer, jar, { email, password: 'not the password', csrf: form.csrf })
    const email = 'throttled.somebody@example.com'
    const statuses: string[] = []
    for (let n = 0; n < 10; n++) {
      const instance = n % 2 === 0 ? a : b
      statuses.push(`${instance.name}:${(await attempt(instance, email)).status}`)
    }
    t.same(
      statuses,
      ['A:401', 'B:401', 'A:401', 'B:401', 'A:401', 'B:401', 'A:401', 'B:401', 'A:401', 'B:401'],
      'ten failures, five at each instance',
    )
    for (const instance of [a, b]) {
      const blocked = await attempt(instance, email)
      t.equal(blocked.status, 429, `the 11th attempt at ${instance.name} is throttled`)
      t.ok(Number(blocked.headers.get('retry-after')) > 0, `with Retry-After (${blocked.headers.get('retry-after')})`)
    }
    t.equal((await attempt(b, 'someone.else@example.com')).status, 401, 'another email from the same address is not blocked')
  })

  // 8. The database goes away and comes back.
  await t.test('a database outage answers 503 and heals without a restart', async (t) => {
    /** The instances under test: one that crashes is reported, then started again for the next phase. */
    const nodes: Instance[] = [a, b]
    const bearer = json(await clientCredentialsGrant(a.url, service)).access_token as string
    const jar = new FetchCookieJar()
    const form = await loginForm(a.url, jar)
    const authorizePath = `/authorize?${new URLSearchParams({ response_type: 'code', client_id: web.id, redirect_uri: REDIRECT_URI, scope: 'openid', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' })}`
    for (const instance of nodes) {
      t.equal((await clientCredentialsGrant(instance.url, service)).status, 200, `${instance.name} issues tokens before the outage`)
      t.equal((await send(`${instance.url}/readyz`)).status, 200, `${instance.name} is ready before the outage`)
    }

    /** Every answer while the outages come and go, to report 500s, hangs and failures precisely. */
    const observed: Observation[] = []
    let phase = 'before'
    const observe = async (instance: Instance, what: string, run: () => Promise<Answer>): Promise<Answer | undefined> => {
      const started = Date.now()
      const at = phase
      try {
        const answer = await run()
        observed.push({ phase: at, instance: instance.name, what, status: answer.status, ms: answer.ms })
        return answer
      } catch (error) {
        await sleep(300)
        observed.push({
          phase: at,
          instance: instance.name,
          what,
          status: 0,
          ms: Date.now() - started,
          error: String((error as Error).cause ?? error),
          crashed: instance.child.exitStatus !== undefined,
        })
        return undefined
      }
    }

    // Steady traffic on every instance across the cuts: tokens, readiness, discovery.
    let loadRunning = true
    const load = nodes.map(async (_, index) => {
      while (loadRunning) {
        const instance = nodes[index]!
        await Promise.all([
          observe(instance, 'load: POST /token', () => clientCredentialsGrant(instance.url, service, 'api:read', PROBE_TIMEOUT_MS)),
          observe(instance, 'load: GET /readyz', () => send(`${instance.url}/readyz`, { timeoutMs: PROBE_TIMEOUT_MS })),
          observe(instance, 'load: GET discovery', () =>
            send(`${instance.url}/.well-known/openid-configuration`, { timeoutMs: PROBE_TIMEOUT_MS }),
          ),
        ])
        await sleep(50)
      }
    })

    const probe = (instance: Instance) => {
      const get = (what: string, target: string, headers: Record<string, string> = {}) =>
        observe(instance, what, () => send(`${instance.url}${target}`, { headers, timeoutMs: PROBE_TIMEOUT_MS }))
      return Promise.all([
        observe(instance, 'POST /token', () => clientCredentialsGrant(instance.url, service, 'api:read', PROBE_TIMEOUT_MS)),
        get('GET /userinfo', '/userinfo', { authorization: `Bearer ${bearer}` }),
        get('GET /authorize', authorizePath, { accept: 'text/html' }),
        observe(instance, 'POST /login', () =>
          postLogin(
            instance.url,
            issuer,
            jar,
            { email: 'outage@example.com', password: 'whatever it is', csrf: form.csrf },
            PROBE_TIMEOUT_MS,
          ),
        ),
        get('GET /readyz', '/readyz'),
        get('GET /healthz', '/healthz'),
        get('GET jwks', '/.well-known/jwks.json'),
        get('GET discovery', '/.well-known/openid-configuration'),
      ])
    }

    const outage = (mode: OutageMode) =>
      t.test(`PostgreSQL unreachable (${mode})`, async (t) => {
        /** A crash fails the test once, with the process's stderr; the instance is started again for what follows. */
        const crashed = new Set<Instance>()
        const reportCrashes = (when: string) => {
          for (const instance of nodes) {
            if (instance.child.exitStatus === undefined || crashed.has(instance)) continue
            crashed.add(instance)
            t.fail(`${instance.name} crashed ${when} (${JSON.stringify(instance.child.exitStatus)})`, {
              stderr: instance.child.stderr.slice(0, 1500),
            })
          }
        }

        // Several idle pooled connections on each instance (the load uses at most two at a time),
        // then a slower database: each instance surely has a query in flight, on an established
        // connection, at the cut.
        await Promise.all(nodes.flatMap((instance) => Array.from({ length: 6 }, () => send(`${instance.url}/readyz`))))
        proxy.latencyMs = 300
        await sleep(400)
        phase = mode
        const inFlight = nodes.map((instance) =>
          observe(instance, 'POST /token in flight at the cut', () =>
            clientCredentialsGrant(instance.url, service, 'api:read', PROBE_TIMEOUT_MS),
          ),
        )
        await sleep(150)
        await proxy.cut(mode)
        proxy.latencyMs = 0
        t.teardown(() => proxy.restore())

        const probes = await Promise.all(nodes.map(probe))
        const cutShort = await Promise.all(inFlight)
        reportCrashes('when the database went away')
        const unavailableJson = { status: 503, retryAfter: true, type: 'application/json', error: 'temporarily_unavailable', fast: true }
        const unavailablePage = { status: 503, retryAfter: true, type: 'text/html', fast: true }
        for (const [index, instance] of nodes.entries()) {
          if (crashed.has(instance)) continue
          const name = instance.name
          const [token, userinfo, authorize, login, readyz, healthz, jwks, discovery] = probes[index]!
          t.match(
            summary(cutShort[index]),
            unavailableJson,
            `${name}: a token request whose query was in flight at the cut answers 503 (${timing(cutShort[index])})`,
          )
          t.match(summary(token), unavailableJson, `${name} POST /token: 503 temporarily_unavailable with Retry-After (${timing(token)})`)
          t.match(
            summary(userinfo),
            unavailableJson,
            `${name} GET /userinfo: 503 temporarily_unavailable with Retry-After (${timing(userinfo)})`,
          )
          t.match(summary(authorize), unavailablePage, `${name} GET /authorize: an HTML 503 page with Retry-After (${timing(authorize)})`)
          t.match(summary(login), unavailablePage, `${name} POST /login: an HTML 503 page with Retry-After (${timing(login)})`)
          t.match(
            summary(readyz),
            {
              status: 503,
              retryAfter: true,
              fast: true,
              body: { status: 'unavailable', checks: { database: 'unavailable', signing_key: 'ok' } },
            },
            `${name} /readyz: 503 (${timing(readyz)})`,
          )
          t.match(summary(healthz), { status: 200, fast: true }, `${name} /healthz stays 200`)
          t.match(summary(jwks), { status: 200, fast: true }, `${name} JWKS is served from memory`)
          const keys = summary(jwks).body?.['keys']
          t.ok(Array.isArray(keys) && keys.length >= 2, `${name} JWKS still lists the keys`)
          t.match(summary(discovery), { status: 200, fast: true }, `${name} discovery is served`)
        }
        // Let the background key refresh (every second) and the load run into the outage a while.
        await sleep(1_500)
        reportCrashes('during the outage')

        await proxy.restore()
        phase = `after ${mode}`
        const restored = Date.now()
        const survivors = nodes.filter((instance) => !crashed.has(instance))
        const recovered = await Promise.all(
          survivors.map(async (instance) => {
            for (;;) {
              const [token, readyz] = await Promise.all([
                clientCredentialsGrant(instance.url, service, 'api:read', PROBE_TIMEOUT_MS).catch(() => undefined),
                send(`${instance.url}/readyz`).catch(() => undefined),
              ])
              if (token?.status === 200 && readyz?.status === 200) return Date.now() - restored
              if (Date.now() - restored > 15_000 || instance.child.exitStatus !== undefined) return Infinity
              await sleep(100)
            }
          }),
        )
        reportCrashes('when the database came back')
        for (const [index, ms] of recovered.entries()) {
          if (!crashed.has(survivors[index]!))
            t.ok(ms <= 10_000, `${survivors[index]!.name} serves tokens and is ready again ${ms} ms after the database came back`)
        }

        await Promise.all(
          nodes.map(async (instance, index) => {
            if (!crashed.has(instance)) return
            t.comment(`${instance.name} is started again for what follows`)
            const replacement = spawnInstance(instance.name, build.main, env, instance.port, dir)
            instances.push(replacement)
            await waitServing(replacement)
            nodes[index] = replacement
          }),
        )
      })

    await sleep(500)
    for (const mode of OUTAGES) await outage(mode)
    loadRunning = false
    await Promise.all(load)

    const counts = countBy(observed.map((entry) => `${entry.phase} | ${entry.what.replace('load: ', '')} | ${entry.status}`))
    t.comment(
      `${observed.length} requests observed:\n${Object.entries(counts)
        .map(([key, n]) => `  ${key}: ${n}`)
        .join('\n')}`,
    )
    t.same(
      observed.filter((entry) => entry.status >= 500 && entry.status !== 503),
      [],
      'no answer in the 5xx range other than 503',
    )
    t.same(
      observed.filter((entry) => entry.status === 0 && !entry.crashed),
      [],
      'every request got an answer (no reset, no hang)',
    )
    t.same(
      observed.filter((entry) => entry.status !== 0 && entry.ms >= FAIL_FAST_MS),
      [],
      `every answer came within ${FAIL_FAST_MS} ms`,
    )
    for (const instance of instances.filter((instance) => instance.name !== 'C')) {
      const unexpected = logLines(instance, 50).filter((entry) => entry['msg'] === 'unexpected error')
      t.same(
        unexpected.map((entry) => (entry['err'] as { message?: string } | undefined)?.message),
        [],
        `${instance.name} (pid ${instance.child.process.pid}) logged no unexpected (500) errors`,
      )
    }
  })
}

interface Observation {
  readonly phase: string
  readonly instance: string
  readonly what: string
  /** 0: no answer (the request failed or timed out). */
  readonly status: number
  readonly ms: number
  readonly error?: string
  /** The failure came with the instance's crash (reported on its own). */
  readonly crashed?: boolean
}

/** The parts of an answer the outage checks compare. */
function summary(answer: Answer | undefined): {
  status: number | 'no answer'
  retryAfter?: boolean
  type?: string
  error?: unknown
  fast?: boolean
  body?: Record<string, unknown>
} {
  if (answer === undefined) return { status: 'no answer' }
  const type = (answer.headers.get('content-type') ?? '').split(';')[0]!
  let body: Record<string, unknown> | undefined
  if (type === 'application/json') body = JSON.parse(answer.text) as Record<string, unknown>
  return {
    status: answer.status,
    retryAfter: Number(answer.headers.get('retry-after')) > 0,
    type,
    error: body?.['error'],
    fast: answer.ms < FAIL_FAST_MS,
    ...(body ? { body } : {}),
  }
}

const timing = (answer: Answer | undefined): string => (answer === undefined ? 'no answer' : `${answer.ms} ms`)

function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1
  return counts
}
