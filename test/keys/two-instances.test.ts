/**
 * Two server instances sharing one database (and KEYS_DIR), both running the scheduled rotation
 * every KEY_REFRESH_INTERVAL: they never rotate twice for one interval, never leave two active
 * keys, and each publishes every key the other signs with.
 */
import t from 'tap'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { freePort } from '../helpers/free-port.js'
import { clientCredentialsGrant, json } from '../helpers/http-client.js'
import { sleep, snapshotBuild } from '../helpers/processes.js'
import { idp, listKeys, newInstall, startServer } from './support.js'

t.setTimeout(300_000)

const INTERVAL = 5
const RUN_MS = 20_000

t.test('two servers rotating on schedule on the same database', async (t) => {
  const { main, bin } = await snapshotBuild()
  const [portA, portB] = [await freePort(), await freePort()]
  const install = newInstall(portA, { KEY_ROTATION_INTERVAL: `${INTERVAL}s`, JWKS_MAX_AGE: '1s' })
  const installed = Date.now()
  await listKeys(bin, install.env)
  const a = await startServer(t, main, install.env)
  const b = await startServer(t, main, { ...install.env, PORT: String(portB), ISSUER: install.env['ISSUER']! })
  const added = await idp(bin, ['clients', 'add', '--name', 'svc', '--grant-type', 'client_credentials', '--scope', 'api:read', '--json'], install.env)
  const client = { id: added.json['client_id'] as string, secret: added.json['client_secret'] as string }
  const issuer = install.env['ISSUER']!

  const started = Date.now()
  const failures: string[] = []
  let checked = 0
  while (Date.now() - started < RUN_MS) {
    // A token from one instance, verified with the JWKS the other instance serves right now.
    for (const [from, other] of [[a.url, b.url], [b.url, a.url]] as const) {
      try {
        const answer = await clientCredentialsGrant(from, client)
        if (answer.status !== 200) throw new Error(`token endpoint ${answer.status}`)
        const jwks = (await (await fetch(`${other}/.well-known/jwks.json`, { signal: AbortSignal.timeout(10_000) })).json()) as { keys: [] }
        await jwtVerify(json(answer)['access_token'] as string, createLocalJWKSet(jwks), { algorithms: ['RS256'], issuer, typ: 'at+jwt' })
        checked++
      } catch (error) {
        failures.push(`token from ${from} checked at ${other}: ${String(error)}`)
      }
    }
    await sleep(200)
  }
  const elapsed = (Date.now() - started) / 1000
  const keys = await listKeys(bin, install.env)
  t.comment(`${checked} cross-instance verifications in ${elapsed.toFixed(1)} s; keys: ${JSON.stringify(keys.map((key) => key.state))}`)
  t.equal(keys.filter((key) => key.state === 'active').length, 1, 'exactly one active key')
  t.ok(keys.some((key) => key.state === 'next'), 'a next key waits')
  const rotations = keys.filter((key) => key.activated_at !== null).length - 1
  t.ok(rotations >= 2, `the schedule rotated (${rotations} rotations)`)
  const sinceInstall = (Date.now() - installed) / 1000
  t.ok(rotations <= Math.ceil(sinceInstall / INTERVAL) + 1, `the two instances did not both rotate each time (${rotations} rotations in ${sinceInstall.toFixed(0)} s since install)`)
  t.ok(checked > 0, `tokens were checked across instances (${checked})`)
  t.same(failures, [], 'every token from one instance verifies with the other instance’s JWKS')
  for (const server of [a, b]) {
    t.notOk(server.exited(), `${server.url} is still running${server.exited() ? `: ${server.output()}` : ''}`)
    t.notMatch(server.output(), /"level":(50|60)/, 'no errors logged')
  }
})

t.test('back-to-back `idp keys rotate` with two servers: no instance signs with a key the other does not publish', async (t) => {
  const { main, bin } = await snapshotBuild()
  const [portA, portB] = [await freePort(), await freePort()]
  // KEY_REFRESH_INTERVAL=1s and CLOCK_SKEW=1s (newInstall): a next key signs after 2 s of publication.
  const install = newInstall(portA)
  await listKeys(bin, install.env)
  const a = await startServer(t, main, install.env)
  const b = await startServer(t, main, { ...install.env, PORT: String(portB) })
  const added = await idp(bin, ['clients', 'add', '--name', 'svc', '--grant-type', 'client_credentials', '--scope', 'api:read', '--json'], install.env)
  const client = { id: added.json['client_id'] as string, secret: added.json['client_secret'] as string }
  const issuer = install.env['ISSUER']!

  let rotating = true
  const failures: string[] = []
  let checked = 0
  const checker = (async () => {
    while (rotating) {
      for (const [from, other] of [[a.url, b.url], [b.url, a.url]] as const) {
        const answer = await clientCredentialsGrant(from, client)
        const jwks = (await (await fetch(`${other}/.well-known/jwks.json`, { signal: AbortSignal.timeout(10_000) })).json()) as { keys: [] }
        await jwtVerify(json(answer)['access_token'] as string, createLocalJWKSet(jwks), { algorithms: ['RS256'], issuer, typ: 'at+jwt' }).then(
          () => checked++,
          (error: unknown) => failures.push(`token from ${from} checked at ${other}: ${String(error)}`),
        )
      }
    }
  })()
  const runs = []
  for (let i = 0; i < 3; i++) runs.push(await idp(bin, ['keys', 'rotate', '--json'], install.env))
  rotating = false
  await checker
  t.same(runs.map((run) => run.code), [0, 0, 0], 'three rotations, one right after the other')
  // Whether a run had to wait depends on how long the CLI took to start (the wait itself is
  // tested in test/unit/cli/main.test.ts and test/unit/keys/key-store.test.ts).
  t.comment(`waits: ${runs.map((run) => /waiting (\d+)s/.exec(run.stderr)?.[1] ?? '0').join(', ')} s`)
  t.equal(new Set(runs.map((run) => run.json['active_kid'])).size, 3, 'each promoted another key')
  t.ok(checked > 0, `${checked} tokens checked across instances during the rotations`)
  t.same(failures, [], 'every token from one instance verifies with the JWKS the other serves at that moment')
})
