/**
 * A running server picks up what the CLI does to the key store, without a restart: a routine
 * rotation (new next key published, promoted key signs) and an emergency revocation (the key
 * leaves JWKS, a new key signs, and tokens it signed stop working at /introspect and /userinfo).
 */
import t from 'tap'
import { decodeProtectedHeader } from 'jose'
import { freePort } from '../helpers/free-port.js'
import { clientCredentialsGrant, clientPost, FetchCookieJar, json, redeemCode, signIn } from '../helpers/http-client.js'
import { eventually, snapshotBuild } from '../helpers/processes.js'
import { idp, jwksKids, listKeys, newInstall, startServer } from './support.js'

t.setTimeout(300_000)

const PASSWORD = 'correct horse battery staple'
const kidOf = (token: unknown) => decodeProtectedHeader(token as string).kid

t.test('rotation and revocation by the CLI reach the running server within seconds', async (t) => {
  const { main, bin } = await snapshotBuild()
  const port = await freePort()
  const { env } = newInstall(port)
  const server = await startServer(t, main, env)
  const issuer = server.issuer
  const pid = server.process.pid

  const registered = await idp(bin, ['clients', 'add', '--name', 'web', '--redirect-uri', 'http://127.0.0.1:8765/cb', '--grant-type', 'authorization_code', '--grant-type', 'client_credentials', '--scope', 'email', '--scope', 'api:read', '--json'], env)
  t.equal(registered.code, 0, `clients add exits 0 ${registered.stderr}`)
  const client = { id: registered.json['client_id'] as string, secret: registered.json['client_secret'] as string }
  const user = await idp(bin, ['users', 'add', '--email', 'alice@example.com', '--password-stdin', '--json'], env, `${PASSWORD}\n`)
  t.equal(user.code, 0, `users add exits 0 ${user.stderr}`)
  const redirectUri = 'http://127.0.0.1:8765/cb'
  /** A user's token response: the login page over HTTP, then the code redeemed. */
  const login = async () => {
    const credentials = { email: 'alice@example.com', password: PASSWORD }
    const signed = await signIn(issuer, issuer, { clientId: client.id, redirectUri }, credentials, new FetchCookieJar())
    const redeemed = await redeemCode(issuer, client, signed.code, signed.pending.verifier, redirectUri)
    if (redeemed.status !== 200) throw new Error(`/token answered ${redeemed.status}: ${redeemed.text}`)
    return json(redeemed)
  }

  const userinfo = async (token: string) => (await fetch(`${issuer}/userinfo`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) })).status
  const introspect = async (token: string) => json(await clientPost(issuer, '/introspect', client, { token })) as { active: boolean }
  const newTokenKid = async () => {
    const answer = await clientCredentialsGrant(issuer, client)
    if (answer.status !== 200) throw new Error(`token endpoint ${answer.status}: ${answer.text}`)
    return kidOf(json(answer)['access_token'])
  }

  // Background traffic across both changes: no request may fail while the store changes under it.
  const traffic = { ok: 0, failed: [] as string[] }
  let stop = false
  const background = (async () => {
    while (!stop) {
      try {
        const answer = await clientCredentialsGrant(issuer, client)
        if (answer.status === 200) traffic.ok++
        else traffic.failed.push(`${answer.status} ${answer.text}`)
      } catch (error) {
        traffic.failed.push(String(error))
      }
    }
  })()
  t.teardown(() => {
    stop = true
  })

  const initial = await listKeys(bin, env)
  const first = initial.find((key) => key.state === 'active')!.kid
  const waiting = initial.find((key) => key.state === 'next')!.kid
  t.same((await jwksKids(issuer)).sort(), [first, waiting].sort(), 'JWKS publishes the active and the next key')
  t.equal(await newTokenKid(), first, 'tokens are signed by the active key')
  const beforeRotation = await login()
  t.equal(kidOf(beforeRotation['access_token']), first)
  t.equal(await userinfo(beforeRotation['access_token'] as string), 200, 'the user token works at /userinfo')

  t.test('idp keys rotate', async (t) => {
    const rotated = await idp(bin, ['keys', 'rotate', '--json'], env)
    t.equal(rotated.code, 0, `exits 0 ${rotated.stderr}`)
    t.equal(rotated.json['active_kid'], waiting, 'the waiting next key is promoted')
    t.match(rotated.json['warning'], /JWKS max-age/, 'warns that the promoted key was published for less than the JWKS max-age')
    const after = await listKeys(bin, env)
    const freshNext = after.find((key) => key.state === 'next')!.kid
    t.equal(after.find((key) => key.kid === first)?.state, 'retired')

    const started = Date.now()
    await eventually('the server publishes the new next key', async () => ((await jwksKids(issuer)).includes(freshNext) ? true : undefined), 10_000)
    await eventually('the server signs with the promoted key', async () => ((await newTokenKid()) === waiting ? true : undefined), 10_000)
    t.comment(`picked up ${Date.now() - started} ms after the CLI returned`)
    t.same((await jwksKids(issuer)).sort(), [first, waiting, freshNext].sort(), 'JWKS: the retired, the active and the new next key')
    t.equal(await userinfo(beforeRotation['access_token'] as string), 200, 'a token signed before the rotation still works at /userinfo')
    t.match(await introspect(beforeRotation['access_token'] as string), { active: true }, 'and at /introspect')
  })

  t.test('idp keys revoke the active key', async (t) => {
    const signedByVictim = await login()
    t.equal(kidOf(signedByVictim['access_token']), waiting, 'a user token signed by the key about to be revoked')
    const token = signedByVictim['access_token'] as string
    t.equal(await userinfo(token), 200, 'works before the revocation')

    const revoked = await idp(bin, ['keys', 'revoke', waiting, '--json'], env)
    t.equal(revoked.code, 0, `exits 0 ${revoked.stderr}`)
    t.equal(revoked.json['revoked'], waiting)
    const replacement = revoked.json['active_kid'] as string
    t.not(replacement, waiting, 'another key signs now')
    const states = Object.fromEntries((await listKeys(bin, env)).map((key) => [key.kid, key.state]))
    t.equal(states[waiting], 'revoked')
    t.equal(states[replacement], 'active')

    const started = Date.now()
    await eventually('the revoked kid leaves the JWKS', async () => (!(await jwksKids(issuer)).includes(waiting) ? true : undefined), 10_000)
    await eventually('a new kid signs', async () => ((await newTokenKid()) === replacement ? true : undefined), 10_000)
    await eventually('/introspect stops accepting the token', async () => ((await introspect(token)).active === false ? true : undefined), 10_000)
    t.comment(`revocation picked up ${Date.now() - started} ms after the CLI returned`)
    t.same(await introspect(token), { active: false }, 'a token signed by the revoked key is inactive at /introspect')
    t.equal(await userinfo(token), 401, 'and refused at /userinfo')
    t.equal(await userinfo(beforeRotation['access_token'] as string), 200, 'the retired (not revoked) key still verifies its tokens')
    const fresh = await login()
    t.equal(kidOf(fresh['access_token']), replacement, 'a new login gets a token from the replacement key')
    t.equal(await userinfo(fresh['access_token'] as string), 200)
    const again = await idp(bin, ['keys', 'revoke', waiting, '--json'], env)
    t.equal(again.code, 1, 'revoking it again is an error')
  })

  t.test('the server ran throughout and dropped nothing', async (t) => {
    stop = true
    await background
    t.ok(traffic.ok > 0, `background token requests: ${traffic.ok}`)
    t.same(traffic.failed, [], 'no background request failed')
    t.notOk(server.exited(), 'no restart')
    t.equal(server.process.pid, pid)
  })
})
