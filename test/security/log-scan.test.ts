/**
 * docs/security.md §H: "no secret ever logged". The real server process runs at LOG_LEVEL=trace (so
 * everything that could leak is written) with NODE_ENV=production and a real SMTP server that
 * requires a password; every main flow is driven over HTTP and the operator CLI runs beside it.
 * Every secret used or issued along the way is collected; then the complete output of the server
 * and the CLI's stderr are searched for each one, for a distinctive 16-character piece of it and
 * for its URL-, form- and JSON-encoded forms — in the text as written and in the bytes of any
 * Buffer value logged (an HTTP parse error logs the raw request, cookies included). The same logs
 * must hold the expected security events, which proves the logging was on while the secrets went by.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { basic, claims, clientPost, hiddenField, HttpBrowser, json, pkcePair } from '../helpers/http-client.js'
import { idp, installation, requireBuild, startServer, waitHealthy, type CliRun } from '../helpers/server-process.js'
import { linkIn, startSmtpSink, type ReceivedMail } from '../helpers/smtp.js'

const RP = 'https://rp.example/cb'
const RP_LOGOUT = 'https://rp.example/bye'
const ALICE = 'alice.logscan@example.com'
const BOB = 'bob.logscan@example.com'
const MALLORY = 'mallory.logscan@example.com'

/** A password nobody could find in a log by accident; spaces, symbols and non-ASCII so its encodings differ. */
const password = (label: string) => `${label} horse+battery/staple ✓ ${randomBytes(9).toString('base64url')}&x=1`

interface Secret {
  readonly what: string
  readonly value: string
}

/** The strings that would betray a secret in a log: itself, a distinctive piece, its encodings. */
function forms(value: string): { form: string; needle: string }[] {
  const out: { form: string; needle: string }[] = [{ form: 'verbatim', needle: value }]
  const add = (form: string, needle: string) => {
    if (needle.length >= 8 && !out.some((existing) => existing.needle === needle)) out.push({ form, needle })
  }
  // A JWT starts with the same header as every other JWT: its signature is the distinctive part.
  const parts = value.split('.')
  const distinctive = parts.length === 3 && value.startsWith('eyJ') ? parts[2]! : value
  if (distinctive.length > 16) add('16-character prefix', distinctive.slice(0, 16))
  add('URL-encoded', encodeURIComponent(value))
  add('form-encoded', new URLSearchParams({ x: value }).toString().slice(2))
  add('JSON-escaped', JSON.stringify(value).slice(1, -1))
  add(
    'JSON-escaped ASCII',
    JSON.stringify(value)
      .slice(1, -1)
      .replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
  )
  return out
}

/** Security events named in the JSON log lines of `text`. */
function eventsIn(text: string): Set<string> {
  const events = new Set<string>()
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue
    try {
      const entry = JSON.parse(line) as { event?: unknown }
      if (typeof entry.event === 'string') events.add(entry.event)
    } catch {
      // not a JSON line
    }
  }
  return events
}

/**
 * pino writes Buffer values as {"type":"Buffer","data":[…bytes…]}: those bytes are decoded so the
 * search sees them as text.
 */
function decodedBuffers(text: string): string {
  return [...text.matchAll(/"type":"Buffer","data":\[([0-9,]*)\]/g)]
    .map((match) =>
      Buffer.from(
        match[1]!
          .split(',')
          .filter((n) => n !== '')
          .map(Number),
      ).toString('latin1'),
    )
    .join('\n')
}

/** Sends bytes exactly as given on a new connection; resolves with the status code answered. */
function sendRaw(port: number, data: string): Promise<number> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    let answer = ''
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => (answer += chunk))
    socket.on('error', () => undefined)
    socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0)))
    socket.write(data)
  })
}

const tokenOf = (link: string) => new URL(link).searchParams.get('token') ?? ''
const linkTo = (mail: ReceivedMail, issuer: string, pathname: string) => linkIn(mail, `${issuer}${pathname}?token=`)

t.before(requireBuild)

t.test('no secret reaches the logs of a trace-level production server or the CLI', async (t) => {
  const secrets: Secret[] = []
  const secret = (what: string, value: string | undefined | null) => {
    if (typeof value !== 'string' || value.length < 8) throw new Error(`expected a secret for "${what}", got ${JSON.stringify(value)}`)
    secrets.push({ what, value })
    return value
  }
  const cliRuns: { label: string; run: CliRun }[] = []
  const cli = async (label: string, args: string[], options: { stdin?: string; env?: Record<string, string> } = {}) => {
    const run = await idp(t, install, args, options)
    cliRuns.push({ label, run })
    return run.json
  }

  const smtpPassword = secret('the SMTP password (in SMTP_URL)', `smtp-${randomBytes(18).toString('base64url')}`)
  // The first delivery is refused (451): the retry path logs too.
  const smtp = await startSmtpSink({ auth: { user: 'tessera-mailer', pass: smtpPassword }, failFirst: 1 })
  t.teardown(() => smtp.close())
  const passphrase = secret('KEYS_PASSPHRASE', `pass phrase ${randomBytes(18).toString('base64url')}`)
  const install = await installation(t, {
    LOG_LEVEL: 'trace',
    NODE_ENV: 'production',
    // `idp keys rotate` waits until the next key is KEY_REFRESH_INTERVAL + CLOCK_SKEW old: 2 s here.
    KEY_REFRESH_INTERVAL: '1s',
    CLOCK_SKEW: '1s',
    SMTP_URL: smtp.url,
    MAIL_FROM: 'Tessera <idp@example.com>',
    LOGIN_RATE_LIMIT: '1000',
    // Three failures block an (account, address) pair: the throttling step below needs four attempts.
    LOGIN_FAILURE_LIMIT: '3',
    SIGNUP_RATE_LIMIT: '1000',
    FORGOT_PASSWORD_RATE_LIMIT: '1000',
  })
  const { issuer } = install
  const withPassphrase = { ...install.env, KEYS_PASSPHRASE: passphrase }

  // --- Operator set-up: the first CLI run creates an unprotected KEK file; the passphrase seals it later.
  const added = await cli('clients add', [
    'clients',
    'add',
    '--name',
    'Log Scan RP',
    '--redirect-uri',
    RP,
    '--post-logout-redirect-uri',
    RP_LOGOUT,
    '--grant-type',
    'authorization_code',
    '--grant-type',
    'refresh_token',
    '--grant-type',
    'client_credentials',
  ])
  const clientId = added['client_id'] as string
  const clientSecret = secret('the client secret', added['client_secret'] as string)
  const client = { id: clientId, secret: clientSecret }
  secret('the Basic authorization header of the client', basic(clientId, clientSecret).slice('Basic '.length))
  const kekFile = path.join(install.dir, 'keys', 'kek.json')
  const plainKek = JSON.parse(fs.readFileSync(kekFile, 'utf8')) as { kek?: string }
  secret('the key-encryption key (kek.json before KEYS_PASSPHRASE)', plainKek.kek)

  const password1 = secret("Alice's first password", password('first'))
  await cli('users add', ['users', 'add', '--email', ALICE, '--name', 'Alice', '--password-stdin'], {
    stdin: `${password1}\n`,
    env: withPassphrase,
  })
  const sealedKek = JSON.parse(fs.readFileSync(kekFile, 'utf8')) as { sealed?: string; kek?: string }
  t.equal(sealedKek.kek, undefined, 'KEYS_PASSPHRASE sealed the KEK file')
  secret('the sealed key-encryption key (kek.json under KEYS_PASSPHRASE)', sealedKek.sealed)

  const server = startServer(t, install, withPassphrase)
  await waitHealthy(server, install)

  /** /authorize → (login form) → the code at the RP; returns the code, its verifier and the final redirect. */
  async function authorize(
    browser: HttpBrowser,
    credentials?: { email: string; password: string; wrongFirst?: string },
  ): Promise<{ code: string; verifier: string }> {
    const { verifier, challenge } = pkcePair()
    const state = randomBytes(12).toString('base64url')
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: RP,
      scope: 'openid email profile offline_access',
      state,
      nonce: randomBytes(12).toString('base64url'),
      code_challenge: challenge,
      code_challenge_method: 'S256',
    })
    const first = await browser.get(`/authorize?${query.toString()}`)
    if (first.status !== 303 || first.location === null) throw new Error(`/authorize answered ${first.status}: ${first.body.slice(0, 300)}`)
    let location = first.location
    if (location.startsWith('/login')) {
      if (!credentials) throw new Error('a login was asked for')
      const page = await browser.get(location)
      let csrf = hiddenField(page.body, '_csrf')
      const interaction = hiddenField(page.body, 'interaction')
      if (credentials.wrongFirst !== undefined) {
        const wrong = await browser.post('/login', { _csrf: csrf, interaction, email: credentials.email, password: credentials.wrongFirst })
        t.equal(wrong.status, 401, 'a wrong password is refused')
        csrf = hiddenField(wrong.body, '_csrf')
      }
      const posted = await browser.post('/login', { _csrf: csrf, interaction, email: credentials.email, password: credentials.password })
      if (posted.status !== 303 || posted.location === null)
        throw new Error(`POST /login answered ${posted.status}: ${posted.body.slice(0, 300)}`)
      location = posted.location
    }
    const callback = new URL(location, issuer)
    if (`${callback.origin}${callback.pathname}` !== RP) throw new Error(`expected a redirect to the RP, got ${location}`)
    t.equal(callback.searchParams.get('state'), state, 'state comes back')
    return { code: secret('an authorization code', callback.searchParams.get('code')), verifier: secret('a PKCE code_verifier', verifier) }
  }

  const redeem = (code: string, verifier: string) =>
    clientPost(issuer, '/token', client, { grant_type: 'authorization_code', code, redirect_uri: RP, code_verifier: verifier })
  const refresh = (refreshToken: string) =>
    clientPost(issuer, '/token', client, { grant_type: 'refresh_token', refresh_token: refreshToken })
  const introspect = async (token: string) => json(await clientPost(issuer, '/introspect', client, { token }))['active']
  const keepTokens = (label: string, body: Record<string, unknown>) => {
    secret(`${label}: access token`, body['access_token'] as string)
    if (body['id_token'] !== undefined) secret(`${label}: ID token`, body['id_token'] as string)
    if (body['refresh_token'] !== undefined) secret(`${label}: refresh token`, body['refresh_token'] as string)
    return body as { access_token: string; id_token: string; refresh_token: string }
  }

  // --- Code flow with PKCE, a failed login first; tokens, userinfo, introspection, rotation, reuse.
  const browser = new HttpBrowser(issuer)
  const wrongPassword = secret('a mistyped password', password('mistyped'))
  const first = await authorize(browser, { email: ALICE, password: password1, wrongFirst: wrongPassword })
  const exchanged = await redeem(first.code, first.verifier)
  t.equal(exchanged.status, 200, 'the code is redeemed')
  const t1 = keepTokens('first login', json(exchanged))
  const info = await fetch(`${issuer}/userinfo`, { headers: { authorization: `Bearer ${t1.access_token}` } })
  t.equal(info.status, 200, 'userinfo answers')
  t.equal(((await info.json()) as { email?: string }).email, ALICE)
  t.equal(await introspect(t1.access_token), true, 'the access token introspects active')
  t.equal(await introspect(t1.refresh_token), true, 'the refresh token introspects active')
  const r2 = await refresh(t1.refresh_token)
  t.equal(r2.status, 200, 'refresh rotates')
  const t2 = keepTokens('first refresh', json(r2))
  t.not(t2.refresh_token, t1.refresh_token)
  const r3 = await refresh(t2.refresh_token)
  t.equal(r3.status, 200, 'a second rotation')
  const t3 = keepTokens('second refresh', json(r3))
  const reuse = await refresh(t1.refresh_token)
  t.equal(reuse.status, 400, 'a rotated refresh token presented again is refused')
  t.equal(json(reuse)['error'], 'invalid_grant')
  t.equal(await introspect(t3.refresh_token), false, 'the reuse revoked the whole family')

  // --- Single sign-on: revocation of an access token and a refresh token.
  const second = await authorize(browser)
  const s2 = await redeem(second.code, second.verifier)
  t.equal(s2.status, 200)
  const t4 = keepTokens('second login (SSO)', json(s2))
  t.equal((await clientPost(issuer, '/revoke', client, { token: t4.access_token })).status, 200, 'access token revoked')
  t.equal(await introspect(t4.access_token), false, 'the revoked access token is inactive')
  const revoked = await clientPost(issuer, '/revoke', client, { token: t4.refresh_token, token_type_hint: 'refresh_token' })
  t.equal(revoked.status, 200, 'refresh token revoked')
  t.equal(await introspect(t4.refresh_token), false, 'the revoked refresh token is inactive')

  // --- A replayed code, then RP-initiated logout with the ID token as hint.
  const third = await authorize(browser)
  const s3 = await redeem(third.code, third.verifier)
  t.equal(s3.status, 200)
  const t5 = keepTokens('third login (SSO)', json(s3))
  const replay = await redeem(third.code, third.verifier)
  t.equal(replay.status, 400, 'a replayed code is refused')
  t.equal(await introspect(t5.access_token), false, 'and its tokens are revoked')
  const logoutState = randomBytes(8).toString('base64url')
  const logout = await browser.get(
    `/logout?${new URLSearchParams({ id_token_hint: t5.id_token, post_logout_redirect_uri: RP_LOGOUT, state: logoutState }).toString()}`,
  )
  t.equal(logout.status, 303, 'logout with a valid hint')
  t.equal(logout.location, `${RP_LOGOUT}?state=${logoutState}`)
  t.notOk(browser.cookies.has('tessera_session'), 'the session cookie is cleared')

  // --- A failed login for an unknown email.
  const stranger = new HttpBrowser(issuer)
  const strangerPassword = secret("an unknown user's password", password('stranger'))
  const unknown = await stranger.submit('/login', '/login', {
    interaction: '',
    email: 'nobody.logscan@example.com',
    password: strangerPassword,
  })
  t.equal(unknown.status, 401, 'unknown email refused')

  // --- Signup and email verification through the mailed link.
  const newcomer = new HttpBrowser(issuer)
  const bobPassword = secret("Bob's signup password", password('signup'))
  const signup = await newcomer.submit('/signup', '/signup', { interaction: '', name: 'Bob', email: BOB, password: bobPassword })
  t.equal(signup.status, 200, 'signup accepted')
  const verifyMail = await smtp.waitFor((mail) => mail.to === BOB)
  const verifyLink = linkTo(verifyMail, issuer, '/verify-email')
  secret('the email-verification token', tokenOf(verifyLink))
  const verified = await newcomer.get(verifyLink)
  t.equal(verified.status, 303)
  t.equal(verified.location, '/verify-email?status=verified', 'the mailed link verifies the address')

  // --- Forgot password, reset through the mailed link.
  const forgetful = new HttpBrowser(issuer)
  t.equal((await forgetful.submit('/forgot-password', '/forgot-password', { email: ALICE })).status, 200)
  const resetMail = await smtp.waitFor((mail) => mail.to === ALICE && mail.text.includes('/reset-password?token='))
  const resetLink = linkTo(resetMail, issuer, '/reset-password')
  secret('the mailed password-reset token', tokenOf(resetLink))
  const landing = await forgetful.get(resetLink)
  t.equal(landing.status, 303, 'the token leaves the URL')
  t.equal(landing.location, '/reset-password')
  const password2 = secret("Alice's password after the reset", password('second'))
  const reset = await forgetful.submit('/reset-password', '/reset-password', { password: password2, password_confirm: password2 })
  t.equal(reset.status, 200, 'password reset')
  t.match(reset.body, /Your password was changed/)

  // --- Password change on the account page.
  const owner = new HttpBrowser(issuer)
  const signedIn = await owner.submit('/login', '/login', { interaction: '', email: ALICE, password: password2 })
  t.equal(signedIn.location, '/account', 'signed in with the reset password')
  const password3 = secret("Alice's password after the change", password('third'))
  const badCurrent = await owner.submit('/account', '/account/password', {
    current_password: wrongPassword,
    password: password3,
    password_confirm: password3,
  })
  t.equal(badCurrent.status, 400, 'a wrong current password is refused')
  const changed = await owner.submit('/account', '/account/password', {
    current_password: password2,
    password: password3,
    password_confirm: password3,
  })
  t.equal(changed.status, 303)
  t.equal(changed.location, '/account?notice=password-changed', 'password changed on the account page')

  // --- Requests the HTTP parser refuses, from a browser holding a live session and a bearer token:
  // a header with an invalid name, and a header block larger than the server accepts (a big cookie jar).
  const cookieHeader = `Cookie: ${[...owner.cookies].map(([name, value]) => `${name}=${value}`).join('; ')}\r\n`
  const bearer = `Authorization: Bearer ${t3.access_token}\r\n`
  t.equal(
    await sendRaw(install.port, `GET /account HTTP/1.1\r\nHost: 127.0.0.1\r\n${cookieHeader}${bearer}Bad Header\r\n\r\n`),
    400,
    'a malformed header is refused',
  )
  t.equal(
    await sendRaw(
      install.port,
      `GET /account HTTP/1.1\r\nHost: 127.0.0.1\r\n${cookieHeader}${bearer}X-Filler: ${'a'.repeat(20_000)}\r\n\r\n`,
    ),
    431,
    'an oversized header block is refused',
  )

  // --- client_credentials, and a client authentication that fails.
  const service = await clientPost(issuer, '/token', client, { grant_type: 'client_credentials' })
  t.equal(service.status, 200, 'client_credentials token issued')
  const serviceToken = secret('the client_credentials access token', json(service)['access_token'] as string)
  t.equal(claims(serviceToken)['sub'], clientId)
  t.equal(await introspect(serviceToken), true)
  const posted = await clientPost(issuer, '/token', null, {
    grant_type: 'client_credentials',
    client_id: clientId,
    client_secret: clientSecret,
  })
  t.equal(posted.status, 200, 'client_secret_post works too (the secret travels in the body)')
  secret('the client_credentials access token (client_secret_post)', json(posted)['access_token'] as string)
  const wrongSecret = secret('a wrong client secret', randomBytes(32).toString('base64url'))
  const badClient = await clientPost(issuer, '/token', { id: clientId, secret: wrongSecret }, { grant_type: 'client_credentials' })
  t.equal(badClient.status, 401, 'a wrong client secret is refused')
  t.equal(json(badClient)['error'], 'invalid_client')

  // --- Operator commands: key rotation and a support reset link, which is then used.
  const rotated = await cli('keys rotate', ['keys', 'rotate'], { env: withPassphrase })
  t.match(rotated, { active_kid: String })
  const issued = await cli('users reset-link', ['users', 'reset-link', ALICE], { env: withPassphrase })
  const operatorLink = issued['reset_link'] as string
  secret('the reset token printed by idp users reset-link', tokenOf(operatorLink))
  const helped = new HttpBrowser(issuer)
  t.equal((await helped.get(operatorLink)).location, '/reset-password')
  const password4 = secret("Alice's password set through the operator's link", password('fourth'))
  t.equal(
    (await helped.submit('/reset-password', '/reset-password', { password: password4, password_confirm: password4 })).status,
    200,
    "the operator's link works",
  )
  const finalLogin = await new HttpBrowser(issuer).submit('/login', '/login', { interaction: '', email: ALICE, password: password4 })
  t.equal(finalLogin.location, '/account', 'the newest password signs in')

  // --- Throttling: three failures block the account; the fourth attempt is answered 429.
  const attacker = new HttpBrowser(issuer)
  for (let attempt = 1; attempt <= 4; attempt++) {
    const guess = secret(`guessed password #${attempt}`, password(`guess${attempt}`))
    const answer = await attacker.submit('/login', '/login', { interaction: '', email: MALLORY, password: guess })
    t.equal(answer.status, attempt <= 3 ? 401 : 429, `attempt ${attempt}`)
  }

  // Every mail the flows caused (verification, reset, two change notices) has gone out.
  for (const kind of [/verify/i, /reset/i])
    t.ok(
      smtp.messages.some((mail) => kind.test(mail.subject) || kind.test(mail.text)),
      `a ${kind.source} mail was delivered`,
    )

  server.process.kill('SIGTERM')
  t.same(await server.exited(20_000), { code: 0, signal: null }, 'the server stops cleanly (its output is complete)')

  // Cookies and anti-forgery tokens every browser was handed.
  for (const b of [browser, stranger, newcomer, forgetful, owner, helped, attacker]) {
    for (const cookie of b.seenCookies) secret(`the ${cookie.name} cookie`, cookie.value)
    for (const token of b.seenCsrfTokens) secret('an anti-forgery token (_csrf form field)', token)
  }
  t.ok(
    secrets.some((s) => s.what === 'the tessera_session cookie'),
    'session cookies were collected',
  )
  t.ok(
    secrets.some((s) => s.what === 'the tessera_csrf cookie'),
    'anti-forgery cookies were collected',
  )
  t.ok(
    secrets.some((s) => s.what === 'the tessera_reset cookie'),
    'reset cookies were collected',
  )

  // The stored security events (audit_events, shown by `idp audit`) are a log too.
  const audit = await idp(t, install, ['audit', '--limit', '10000'], { env: withPassphrase })
  const stored = audit.json['events'] as { type: string }[]
  t.ok(
    stored.some((event) => event.type === 'refresh_reuse') && stored.some((event) => event.type === 'key_rotation'),
    'audit_events holds the events too',
  )

  const logs = [
    { source: 'server stdout', text: server.stdout },
    { source: 'server stderr', text: server.stderr },
    ...cliRuns.map(({ label, run }) => ({ source: `idp ${label} stderr`, text: run.stderr })),
    { source: 'idp audit stderr', text: audit.stderr },
    { source: 'audit_events (idp audit --json)', text: audit.stdout },
  ]
  // Control: the search does see what the logs hold (identifiers are logged, by design).
  t.ok(server.stdout.includes(clientId) && server.stdout.includes(ALICE), 'the logs name the client and the mail recipient')
  t.ok(server.stdout.split('\n').length > 50, `the server logged (${server.stdout.split('\n').length} lines)`)
  t.ok(
    server.stdout.includes('"level":10') || server.stdout.includes('"level":20'),
    'trace/debug lines are present: the level was really lowered',
  )

  /** Every (secret, log stream) pair where some form of the secret appears, with the line. */
  const leaksIn = (streams: readonly { source: string; text: string }[]): string[] => {
    const leaks: string[] = []
    for (const { what, value } of secrets) {
      for (const { source, text } of streams) {
        for (const { form, needle } of forms(value)) {
          const at = text.indexOf(needle)
          if (at < 0) continue
          const lineStart = text.lastIndexOf('\n', at) + 1
          const lineEnd = text.indexOf('\n', at)
          leaks.push(`${what} (${form}) in ${source}: ${text.slice(lineStart, lineEnd < 0 ? undefined : lineEnd).slice(0, 300)}`)
          break
        }
      }
    }
    return leaks
  }
  t.comment(`${secrets.length} secrets checked against ${logs.length} log streams`)
  t.same(leaksIn(logs), [], 'no secret appears in the text of any log')
  // Bytes logged as Buffer values (e.g. the raw request of an HTTP parse error) are text too.
  const decoded = logs
    .map(({ source, text }) => ({ source: `${source} (Buffer values decoded)`, text: decodedBuffers(text) }))
    .filter(({ text }) => text !== '')
  t.same(leaksIn(decoded), [], 'no secret appears in the bytes of a Buffer value in any log')

  // The logs carried the security events, so the absence of secrets is not the absence of logging.
  const events = new Set([...eventsIn(server.stdout), ...cliRuns.flatMap(({ run }) => [...eventsIn(run.stderr)])])
  for (const event of [
    'login_success',
    'login_failure',
    'refresh_reuse',
    'code_reuse',
    'revocation',
    'logout',
    'signup',
    'email_verified',
    'password_reset_requested',
    'password_reset',
    'password_changed',
    'password_change_failure',
    'client_auth_failure',
    'mail_retry',
    'throttled',
    'client_credentials',
    'mail_sent',
  ]) {
    t.ok(events.has(event), `the server logged a ${event} event`)
  }
  t.ok(
    eventsIn(cliRuns.find((r) => r.label === 'keys rotate')!.run.stderr).has('key_rotation'),
    'idp keys rotate logged a key_rotation event',
  )
  t.ok(
    eventsIn(cliRuns.find((r) => r.label === 'users reset-link')!.run.stderr).has('password_reset_requested'),
    'idp users reset-link logged its event',
  )
})
