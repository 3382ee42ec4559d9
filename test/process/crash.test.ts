/**
 * Durability: whatever the server acknowledged survives `kill -9`. The real server runs on an
 * SQLite file under concurrent write load — four loops of POST /signup (distinct emails) and four
 * of client_credentials token requests — and is SIGKILLed mid-load. Restarted on the same database
 * and keys, every signup that got its 200 is a user, every access token that got its 200 still
 * introspects `active: true` (its jti row was committed), and the same signing key is published.
 */
import t from 'tap'
import path from 'node:path'
import SQLite from 'better-sqlite3'
import { claims, clientPost, hiddenField, HttpBrowser, json } from '../helpers/http-client.js'
import { idp, installation, requireBuild, startServer, waitHealthy } from '../helpers/server-process.js'

/** Long enough for a steady stream of commits even on a busy two-core machine. */
const LOAD_MS = 3_000

t.before(requireBuild)

t.test('kill -9 under write load loses no acknowledged signup or token', async (t) => {
  const install = await installation(t, {
    LOG_LEVEL: 'warn',
    // Only the per-IP limits are raised; the per-email signup quota is per address (distinct here).
    SIGNUP_RATE_LIMIT: '100000',
  })
  const { issuer } = install
  const service = await idp(t, install, ['clients', 'add', '--name', 'Crash Service', '--grant-type', 'client_credentials'])
  const client = { id: service.json['client_id'] as string, secret: service.json['client_secret'] as string }

  const server = startServer(t, install)
  await waitHealthy(server, install)
  const jwksBefore = await (await fetch(`${issuer}/.well-known/jwks.json`)).json()

  const ackedEmails: string[] = []
  const ackedTokens: { jti: string; token: string }[] = []
  const failures: string[] = []
  let killed = false
  /** Requests sent before the kill that never got an answer. */
  let cutInFlight = 0

  async function signupLoop(loop: number): Promise<void> {
    const browser = new HttpBrowser(issuer)
    const page = await browser.get('/signup')
    const csrf = hiddenField(page.body, '_csrf')
    for (let n = 0; ; n++) {
      const email = `crash-${loop}-${n}@example.com`
      const sentBeforeKill = !killed
      try {
        const answer = await browser.post('/signup', {
          _csrf: csrf,
          interaction: '',
          name: `Loop ${loop}`,
          email,
          password: `durable password ${loop}-${n}`,
        })
        if (answer.status === 200 && answer.body.includes('Check your email')) ackedEmails.push(email)
        else failures.push(`signup ${email}: ${answer.status}`)
      } catch (error) {
        if (!killed) failures.push(`signup ${email}: ${(error as Error).message}`)
        else if (sentBeforeKill) cutInFlight += 1
        return
      }
      if (killed) return
    }
  }

  async function tokenLoop(): Promise<void> {
    for (;;) {
      const sentBeforeKill = !killed
      try {
        const answer = await clientPost(issuer, '/token', client, { grant_type: 'client_credentials' })
        if (answer.status === 200) {
          const token = json(answer)['access_token'] as string
          ackedTokens.push({ jti: claims(token)['jti'] as string, token })
        } else failures.push(`token: ${answer.status} ${answer.text}`)
      } catch (error) {
        if (!killed) failures.push(`token: ${(error as Error).message}`)
        else if (sentBeforeKill) cutInFlight += 1
        return
      }
      if (killed) return
    }
  }

  const loops = [0, 1, 2, 3].map((loop) => signupLoop(loop)).concat([0, 1, 2, 3].map(() => tokenLoop()))
  // Load for LOAD_MS and until both kinds of write have been acknowledged a few times (a loaded
  // machine hashes passwords slowly): a condition, not a guess at how long that takes.
  const loadStarted = Date.now()
  while (Date.now() - loadStarted < LOAD_MS || ackedEmails.length < 4 || ackedTokens.length < 10) {
    if (Date.now() - loadStarted > 120_000 || failures.length > 0) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const signupsBeforeKill = ackedEmails.length
  const tokensBeforeKill = ackedTokens.length
  server.process.kill('SIGKILL')
  killed = true
  const exit = await server.exited(10_000)
  t.equal(exit.signal, 'SIGKILL', 'the server died by SIGKILL')
  await Promise.all(loops)

  t.same(failures, [], 'no request failed before the kill')
  t.ok(signupsBeforeKill >= 4, `signups were acknowledged under load (${ackedEmails.length})`)
  t.ok(tokensBeforeKill >= 10, `tokens were acknowledged under load (${ackedTokens.length})`)
  t.ok(cutInFlight > 0, `the kill cut requests in flight (${cutInFlight} of 8 loops had one)`)
  t.equal(new Set(ackedEmails).size, ackedEmails.length)
  t.equal(new Set(ackedTokens.map((token) => token.jti)).size, ackedTokens.length, 'every acknowledged token has its own jti')

  // Restart on the same database and keys.
  const again = startServer(t, install)
  await waitHealthy(again, install)

  const discovery = await fetch(`${issuer}/.well-known/openid-configuration`)
  t.equal(discovery.status, 200, 'the restarted server serves discovery')
  t.equal(((await discovery.json()) as { issuer?: string }).issuer, issuer)
  t.same(await (await fetch(`${issuer}/.well-known/jwks.json`)).json(), jwksBefore, 'the JWKS still publishes the same key')

  const listed = await idp(t, install, ['users', 'list'])
  const stored = new Set((listed.json['users'] as { email: string }[]).map((user) => user.email))
  const lostUsers = ackedEmails.filter((email) => !stored.has(email))
  t.same(lostUsers, [], `every acknowledged signup is a user (${ackedEmails.length} acknowledged, ${stored.size} stored)`)

  const inactive: string[] = []
  const queue = [...ackedTokens]
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
        const answer = await clientPost(issuer, '/introspect', client, { token: next.token })
        const body = answer.status === 200 ? json(answer) : undefined
        if (body?.['active'] !== true || body['jti'] !== next.jti) inactive.push(`${next.jti}: ${answer.status} ${answer.text}`)
      }
    }),
  )
  t.same(inactive, [], `every acknowledged access token is still recorded and active (${ackedTokens.length} checked)`)

  const db = new SQLite(path.join(install.dir, 'idp.db'), { readonly: true, timeout: 10_000 })
  try {
    t.same(db.pragma('integrity_check'), [{ integrity_check: 'ok' }], 'the database file passes integrity_check after the crash')
  } finally {
    db.close()
  }

  // A new token from the restarted server is signed with the same key.
  const fresh = await clientPost(issuer, '/token', client, { grant_type: 'client_credentials' })
  t.equal(fresh.status, 200, 'the restarted server issues tokens')
  const kid = JSON.parse(Buffer.from((json(fresh)['access_token'] as string).split('.')[0]!, 'base64url').toString('utf8')).kid as string
  t.ok(
    (jwksBefore as { keys: { kid: string }[] }).keys.some((key) => key.kid === kid),
    'signed by a key published before the crash',
  )
})
