/**
 * The real process: `node dist/src/main.js` in an empty directory with only the documented
 * environment variables. It must create its database and keys itself (keys dir 0700, kek.json
 * 0600), serve discovery, stop cleanly on SIGTERM, refuse bad configuration with one line naming
 * the variable, and work with clients and users added by the `idp` CLI as a child process.
 */
import t from 'tap'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import * as client from 'openid-client'
import { discover, runCodeFlow } from '../helpers/code-flow.js'
import { ROOT, runToCompletion, type Teardown } from '../helpers/processes.js'
import { IDP, idp, installation, MAIN, startServer, waitHealthy, type Installation } from '../helpers/server-process.js'

/** Newest modification time under a folder (TypeScript sources and templates). */
function newestMtime(dir: string): number {
  let newest = 0
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, fs.statSync(path.join(entry.parentPath, entry.name)).mtimeMs)
  }
  return newest
}

/**
 * The suite runs the compiled server (dist/), which the test script is meant to build beforehand.
 * When dist/ is missing it is built here. When it is older than the sources it is NOT rebuilt
 * (the build empties dist/ first, which would break anything else using it, and a half-edited
 * source tree would leave it broken), but the run says so loudly.
 */
function ensureBuilt(t: { comment(message: string): void }): void {
  if (!fs.existsSync(MAIN)) {
    t.comment('dist/ missing: building it with node scripts/build.mjs')
    execFileSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, stdio: 'pipe', timeout: 180_000 })
    return
  }
  const sources = Math.max(newestMtime(path.join(ROOT, 'src')), newestMtime(path.join(ROOT, 'migrations')))
  if (fs.statSync(MAIN).mtimeMs < sources)
    t.comment('WARNING: dist/ is older than src/ — this suite tests the last build; run "npm run build" first')
}

/** An installation without ISSUER: the server must use the documented default, http://localhost:$PORT. */
async function defaultIssuerInstallation(t: Teardown): Promise<Pick<Installation, 'dir' | 'port' | 'env'>> {
  const install = await installation(t)
  const { ISSUER: _configured, ...env } = install.env
  return { dir: install.dir, port: install.port, env }
}

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

t.before(() => ensureBuilt(t))

t.test('a fresh install: starts with no set-up, serves discovery, works with CLI-made client and user, stops on SIGTERM', async (t) => {
  const install = await defaultIssuerInstallation(t)
  const issuer = `http://localhost:${install.port}` // the documented default: http://localhost:$PORT
  const server = startServer(t, install)
  await waitHealthy(server, install)

  t.test('discovery and JWKS are served at once', async (t) => {
    const discovery = await getJson(`http://127.0.0.1:${install.port}/.well-known/openid-configuration`)
    t.equal(discovery.status, 200)
    t.equal(discovery.body['issuer'], issuer, 'issuer from configuration (default http://localhost:$PORT), not from the Host header')
    t.equal(discovery.body['jwks_uri'], `${issuer}/.well-known/jwks.json`)
    t.equal(discovery.body['token_endpoint'], `${issuer}/token`)
    const jwks = await getJson(`http://127.0.0.1:${install.port}/.well-known/jwks.json`)
    t.equal(jwks.status, 200)
    const keys = jwks.body['keys'] as Record<string, unknown>[]
    t.ok(keys.length >= 1, 'at least one published key')
    for (const key of keys) {
      t.match(key, { kty: 'RSA', use: 'sig', alg: 'RS256', kid: String })
      t.notOk(
        ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'].some((member) => member in key),
        'no private members',
      )
    }
  })

  t.test('it created its own database and key files with tight permissions', async (t) => {
    const keysDir = path.join(install.dir, 'keys')
    t.ok(fs.existsSync(path.join(install.dir, 'idp.db')), 'the SQLite file was created')
    t.equal(fs.statSync(keysDir).mode & 0o777, 0o700, 'keys dir is 0700')
    t.equal(fs.statSync(path.join(keysDir, 'kek.json')).mode & 0o777, 0o600, 'kek.json is 0600')
  })

  let clientId = ''
  let clientSecret = ''
  const email = 'ops-added@example.com'
  const password = 'a long operator-chosen password ✓'
  let userId = ''

  t.test('idp clients add / users add as child processes', async (t) => {
    const { json: added } = await idp(t, install, ['clients', 'add', '--name', 'X', '--redirect-uri', 'https://rp.example/cb'])
    t.match(added, { client_id: String, client_secret: String })
    clientId = added['client_id'] as string
    clientSecret = added['client_secret'] as string
    const { json: user } = await idp(t, install, ['users', 'add', '--email', email, '--password-stdin'], { stdin: `${password}\n` })
    t.match(user, { id: String, email })
    userId = user['id'] as string
    const { json: listed } = await idp(t, install, ['clients', 'list'])
    t.match(listed, { clients: [{ client_id: clientId, name: 'X', type: 'confidential', redirect_uris: ['https://rp.example/cb'] }] })
  })

  t.test('a full login against the spawned server with the CLI-made client and user', async (t) => {
    if (!clientId || !userId) return t.fail('the CLI step did not produce a client and a user')
    const config = await discover(issuer, clientId, clientSecret, client.ClientSecretBasic())
    const { tokens, callbackUrl } = await runCodeFlow(config, { redirectUri: 'https://rp.example/cb', credentials: { email, password } })
    t.equal(callbackUrl.origin + callbackUrl.pathname, 'https://rp.example/cb')
    const claims = tokens.claims()!
    t.equal(claims.iss, issuer)
    t.equal(claims.sub, userId)
    t.equal(claims['email'], email)
    const info = await client.fetchUserInfo(config, tokens.access_token, userId)
    t.equal(info.email, email)

    // docs/security.md §H: no secret in the server's logs.
    const logs = server.stdout + server.stderr
    for (const [what, secret] of [
      ['the password', password],
      ['the client secret', clientSecret],
      ['the authorization code', callbackUrl.searchParams.get('code')!],
      ['the access token', tokens.access_token],
      ['the ID token', tokens.id_token!],
    ] as const) {
      t.notOk(logs.includes(secret), `the logs do not contain ${what}`)
    }
  })

  t.test('SIGTERM exits cleanly; a restart keeps keys, clients and users', async (t) => {
    const jwksBefore = (await getJson(`http://127.0.0.1:${install.port}/.well-known/jwks.json`)).body
    server.process.kill('SIGTERM')
    const exit = await server.exited(15_000)
    t.same(exit, { code: 0, signal: null }, `exit code 0 (stderr: ${server.stderr.slice(-500)})`)

    const again = startServer(t, install)
    await waitHealthy(again, install)
    t.same(
      (await getJson(`http://127.0.0.1:${install.port}/.well-known/jwks.json`)).body,
      jwksBefore,
      'the same published keys after a restart',
    )
    if (clientId && userId) {
      const config = await discover(issuer, clientId, clientSecret, client.ClientSecretBasic())
      const { tokens } = await runCodeFlow(config, { redirectUri: 'https://rp.example/cb', credentials: { email, password } })
      t.equal(tokens.claims()!.sub, userId, 'the CLI-made client and user still work')
    }
    again.process.kill('SIGTERM')
    t.same(await again.exited(15_000), { code: 0, signal: null })
  })
})

t.test('bad configuration: non-zero exit, one stderr line naming the variable, nothing created', async (t) => {
  const cases: [string, Record<string, string>, string][] = [
    ['PORT=abc', { PORT: 'abc' }, 'PORT'],
    ['ISSUER=http://example.com', { ISSUER: 'http://example.com' }, 'ISSUER'],
  ]
  for (const [name, bad, variable] of cases) {
    t.test(name, async (t) => {
      const install = await defaultIssuerInstallation(t)
      const server = startServer(t, install, { ...install.env, ...bad })
      const exit = await server.exited(15_000)
      t.not(exit.code, 0, `non-zero exit (${JSON.stringify(exit)})`)
      t.equal(exit.signal, null)
      const lines = server.stderr.trimEnd().split('\n')
      t.equal(lines.length, 1, `exactly one stderr line: ${JSON.stringify(server.stderr)}`)
      t.match(lines[0], new RegExp(`\\b${variable}\\b`), 'it names the variable')
      const others = ['PORT', 'ISSUER', 'HOST', 'DATABASE_URL', 'KEYS_DIR'].filter((name) => name !== variable)
      t.same(
        others.filter((name) => lines[0]!.includes(`${name}:`)),
        [],
        'and blames no variable that is fine or unset',
      )
      t.notOk(fs.existsSync(path.join(install.dir, 'idp.db')), 'no database created')
      t.notOk(fs.existsSync(path.join(install.dir, 'keys')), 'no keys dir created')
    })
  }
})

t.test('the CLI refuses a bad redirect URI with exit 1 and a JSON error line', async (t) => {
  const install = await defaultIssuerInstallation(t)
  const { exit, stdout, stderr } = await runToCompletion(
    t,
    'idp clients add',
    process.execPath,
    [IDP, 'clients', 'add', '--name', 'Bad', '--redirect-uri', 'http://rp.example/cb', '--json'],
    {
      cwd: install.dir,
      env: install.env,
      inheritEnv: false,
      timeoutMs: 60_000,
    },
  )
  t.equal(exit.code, 1)
  const last = stdout.trimEnd().split('\n').pop()!
  t.match(JSON.parse(last), { error: /redirect-uri/ })
  t.match(stderr, /^idp: /)
})
