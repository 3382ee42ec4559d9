/**
 * Private key material never leaves the key store (docs/security.md §F): not in the JWKS, discovery,
 * `idp keys list` (text or --json), nor in any log line of the server or the CLI at debug/trace
 * level, across rotation, revocation and token issuance.
 */
import t, { type Test } from 'tap'
import { Writable } from 'node:stream'
import path from 'node:path'
import { createPrivateKey } from 'node:crypto'
import pino from 'pino'
import { buildApp } from '../../src/app.js'
import { buildClient } from '../../src/clients/registration.js'
import { loadConfig } from '../../src/config/config.js'
import { connectDatabase } from '../../src/db/connect.js'
import { signingKeysRepository } from '../../src/db/repositories/signing-keys.js'
import { closeDeps, createDeps } from '../../src/deps.js'
import { openEnvelope } from '../../src/keys/envelope.js'
import { loadOrCreateKek } from '../../src/keys/kek.js'
import { freePort } from '../helpers/free-port.js'
import { basic } from '../helpers/client.js'
import { clientCredentialsGrant } from '../helpers/http-client.js'
import { eventually, scratchDir, snapshotBuild } from '../helpers/processes.js'
import { idp, newInstall, startServer } from './support.js'

t.setTimeout(300_000)

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const
const PUBLIC_MEMBERS = ['alg', 'e', 'kid', 'kty', 'n', 'use']

/** Every string that would betray a private key or the KEK: full values and 32-character prefixes. */
async function secretsOf(databaseFile: string, keysDir: string): Promise<string[]> {
  const db = connectDatabase({ dialect: 'sqlite', file: databaseFile })
  try {
    const kek = loadOrCreateKek(keysDir, null)
    const { keys } = await signingKeysRepository(db).load()
    const found = [kek.toString('base64url'), kek.toString('base64'), kek.toString('hex'), 'PRIVATE KEY']
    for (const key of keys) {
      if (key.sealedPrivateKey === '') continue
      const der = openEnvelope(kek, key.sealedPrivateKey, key.kid)
      const jwk = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ format: 'jwk' }) as Record<string, string>
      found.push(key.sealedPrivateKey, der.toString('base64'), der.toString('base64url'), ...['d', 'p', 'q', 'dp', 'dq', 'qi'].map((member) => jwk[member]!))
    }
    return found.flatMap((secret) => (secret.length > 32 ? [secret, secret.slice(0, 32)] : [secret]))
  } finally {
    await db.destroy()
  }
}

function assertPublicJwks(t: Test, body: string): void {
  const keys = (JSON.parse(body) as { keys: Record<string, unknown>[] }).keys
  t.ok(keys.length >= 2)
  for (const key of keys) {
    t.same(Object.keys(key).sort(), PUBLIC_MEMBERS, `${String(key['kid'])}: public members only`)
    for (const member of PRIVATE_MEMBERS) t.notOk(member in key, `no ${member}`)
  }
}

function assertNoSecrets(t: Test, where: string, text: string, secrets: readonly string[]): void {
  const leaked = secrets.filter((secret) => text.includes(secret))
  t.same(leaked.map((secret) => `${secret.slice(0, 12)}…`), [], `${where}: no private key material (${text.length} characters checked)`)
}

t.test('in-process: JWKS, discovery and trace-level logs', async (t) => {
  const dir = scratchDir('tessera-keys-logs-')
  let logs = ''
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs += chunk.toString('utf8')
      done()
    },
  })
  const config = loadConfig({ DATABASE_URL: `sqlite:${path.join(dir, 'idp.db')}`, KEYS_DIR: path.join(dir, 'keys'), ISSUER: 'http://localhost:3000', LOG_LEVEL: 'trace' })
  const deps = await createDeps(config, { log: pino({ level: 'trace' }, sink) })
  const app = await buildApp(deps)
  t.teardown(async () => {
    await app.close()
    await closeDeps(deps)
  })
  const { client, secret } = buildClient({ name: 'svc', redirectUris: [], postLogoutRedirectUris: [], isPublic: false, grantTypes: ['client_credentials'], pkce: undefined, scopes: ['api:read'] }, deps.clock.now())
  await deps.repos.clients.insert(client)
  const token = () =>
    app.inject({ method: 'POST', url: '/token', headers: { authorization: basic(client.id, secret!), 'content-type': 'application/x-www-form-urlencoded' }, payload: 'grant_type=client_credentials' })

  const responses: string[] = []
  const jwks = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  assertPublicJwks(t, jwks.body)
  responses.push(jwks.body, (await app.inject({ method: 'GET', url: '/.well-known/openid-configuration' })).body)
  t.equal((await token()).statusCode, 200)
  await deps.keys.rotate({ immediately: true })
  const revoked = deps.keys.signingKey().kid
  await deps.keys.revoke(revoked)
  await deps.keys.maintain()
  await deps.keys.refresh(true)
  responses.push((await token()).body, (await app.inject({ method: 'GET', url: '/userinfo', headers: { authorization: 'Bearer x.y.z' } })).body)
  const after = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  assertPublicJwks(t, after.body)
  t.notOk(after.body.includes(revoked), 'the revoked key left the JWKS')
  responses.push(after.body)

  t.ok(logs.includes('key_rotation'), 'rotation and revocation were logged')
  const secrets = await secretsOf(path.join(dir, 'idp.db'), path.join(dir, 'keys'))
  assertNoSecrets(t, 'trace logs', logs, secrets)
  assertNoSecrets(t, 'HTTP responses', responses.join('\n'), secrets)
  const listed = await deps.keys.list()
  assertNoSecrets(t, 'KeyStore.list()', JSON.stringify(listed), secrets)
})

t.test('the real server and CLI at LOG_LEVEL=debug', async (t) => {
  const { main, bin } = await snapshotBuild()
  const port = await freePort()
  const { dir, env } = newInstall(port, { LOG_LEVEL: 'debug' })
  const server = await startServer(t, main, env)
  const outputs: string[] = []
  const run = async (args: string[]) => {
    const result = await idp(bin, args, env)
    outputs.push(result.stdout, result.stderr)
    t.equal(result.code, 0, `idp ${args.join(' ')} exits 0 ${result.stderr}`)
    return result
  }
  const added = await run(['clients', 'add', '--name', 'svc', '--grant-type', 'client_credentials', '--scope', 'api:read', '--json'])
  const client = { id: added.json['client_id'] as string, secret: added.json['client_secret'] as string }
  t.equal((await clientCredentialsGrant(server.issuer, client)).status, 200)
  await run(['keys', 'rotate', '--json'])
  const textRotate = await run(['keys', 'rotate'])
  t.match(textRotate.stdout, /Note: the promoted key was published \d+s ago, less than the JWKS max-age/, 'the text output warns about a young promoted key')
  const listed = await run(['keys', 'list', '--json'])
  const active = (listed.json['keys'] as { kid: string; state: string }[]).find((key) => key.state === 'active')!.kid
  await run(['keys', 'revoke', active, '--json'])
  // The running server drops the revoked key within KEY_REFRESH_INTERVAL (1 s here).
  await eventually('the server to drop the revoked key', async () => {
    const published = (await (await fetch(`${server.issuer}/.well-known/jwks.json`, { signal: AbortSignal.timeout(10_000) })).json()) as { keys: { kid: string }[] }
    return published.keys.some((key) => key.kid === active) ? undefined : true
  })
  t.equal((await clientCredentialsGrant(server.issuer, client)).status, 200, 'tokens are issued after the revocation')
  const jwks = await (await fetch(`${server.issuer}/.well-known/jwks.json`, { signal: AbortSignal.timeout(10_000) })).text()
  assertPublicJwks(t, jwks)
  const discovery = await (await fetch(`${server.issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(10_000) })).text()
  const finalList = await run(['keys', 'list', '--json'])
  const textList = await run(['keys', 'list'])

  for (const key of finalList.json['keys'] as Record<string, unknown>[]) {
    t.same(Object.keys(key).sort(), ['activated_at', 'alg', 'created_at', 'kid', 'retires_at', 'state'], `keys list --json: ${String(key['kid'])} has only the listed fields`)
  }
  t.ok(server.output().includes('"level":20') || server.output().includes('"level":30'), 'the server logged at debug/info level')
  const secrets = await secretsOf(path.join(dir, 'idp.db'), env['KEYS_DIR']!)
  assertNoSecrets(t, 'server stdout/stderr', server.output(), secrets)
  assertNoSecrets(t, 'CLI stdout/stderr', outputs.join('\n'), secrets)
  assertNoSecrets(t, 'keys list (text and --json)', `${finalList.stdout}\n${textList.stdout}`, secrets)
  assertNoSecrets(t, 'JWKS and discovery', `${jwks}\n${discovery}`, secrets)
})
