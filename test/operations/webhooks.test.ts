/**
 * Event webhooks end to end: `idp webhooks add` prints a Standard Webhooks secret once (stored
 * sealed, never in clear, never listed); security events become signed JSON POSTs to a real
 * receiver (node:http on 127.0.0.1) that checks `webhook-signature` with its own HMAC-SHA256 over
 * `id.timestamp.body`; only subscribed events are sent; a receiver answering 500 gets the same
 * message (same `webhook-id`) again after the outbox's backoff — the FakeClock moves, never the
 * wall clock — and a delivery that keeps failing is given up and audited; disabled and removed
 * webhooks get nothing; the CLI refuses bad input with one line each.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { cliFor, type CliRun } from '../helpers/cli.js'
import { CookieJar, signInAtLoginPage, signUp } from '../helpers/client.js'
import { createTestApp, type TestApp } from '../helpers/test-app.js'

const PASSWORD = 'a long and unusual passphrase'

interface Delivery {
  readonly path: string
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

/** A webhook receiver: records every POST; `status` decides each answer (by the POST's number, from 1). */
class Receiver {
  readonly received: Delivery[] = []
  status: (count: number, path: string) => number = () => 204
  #waiters: (() => void)[] = []

  private constructor(private readonly server: http.Server) {}

  static async start(t: Test): Promise<Receiver> {
    let receiver: Receiver | undefined
    const server = http.createServer((request, response) => {
      const chunks: Buffer[] = []
      request.on('data', (chunk: Buffer) => chunks.push(chunk))
      request.on('end', () => {
        const delivery = { path: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') }
        receiver!.received.push(delivery)
        response.writeHead(receiver!.status(receiver!.received.length, delivery.path)).end()
        for (const wake of receiver!.#waiters.splice(0)) wake()
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    receiver = new Receiver(server)
    t.teardown(() => {
      server.closeAllConnections()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    })
    return receiver
  }

  url(path: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`
  }

  /** The first `count` deliveries, once they have arrived (bounded wait). */
  async waitFor(count: number, timeoutMs = 10_000): Promise<Delivery[]> {
    const deadline = Date.now() + timeoutMs
    while (this.received.length < count) {
      if (Date.now() > deadline) throw new Error(`${this.received.length} of ${count} deliveries within ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve)
        setTimeout(resolve, 100)
      })
    }
    return this.received.slice(0, count)
  }
}

/** The receiver's own check of a Standard Webhooks signature: HMAC-SHA256 with the bytes after `whsec_`. */
function signatureValid(secret: string, delivery: Delivery): boolean {
  const id = String(delivery.headers['webhook-id'])
  const timestamp = String(delivery.headers['webhook-timestamp'])
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64')
  const expected = Buffer.from(createHmac('sha256', key).update(`${id}.${timestamp}.${delivery.body}`).digest('base64'))
  return String(delivery.headers['webhook-signature'])
    .split(' ')
    .some((signature) => {
      const [version, value] = signature.split(',')
      const given = Buffer.from(value ?? '')
      return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected)
    })
}

const bodyOf = (delivery: Delivery) => JSON.parse(delivery.body) as { type: string; timestamp: string; data: Record<string, unknown> }

/** A test app whose worker runs only when nudged or by idle(), and which reads the webhook list for every event (the CLI writes it from another process). */
async function app(t: Test, start = true): Promise<TestApp> {
  const ctx = await createTestApp({
    overrides: {
      webhookCacheMs: 0,
      outbox: { pollIntervalMs: 3_600_000, retry: { firstDelaySeconds: 5, maxDelaySeconds: 600, maxAttempts: 3 } },
    },
  })
  t.teardown(() => ctx.close())
  if (start) ctx.deps.outbox.start()
  return ctx
}

const webhookRows = (ctx: TestApp) =>
  ctx.deps.store.db.selectFrom('outbox').selectAll().where('kind', '=', 'webhook').orderBy('created_at').orderBy('id').execute()

const failedLogin = async (ctx: TestApp, email: string) =>
  t.equal((await signInAtLoginPage(ctx, new CookieJar(), email, 'not the password')).statusCode, 401, 'a failed sign-in')

function added(t: Test, run: CliRun): { id: string; secret: string } {
  t.equal(run.code, 0, `webhooks add: ${run.stderr.join(' ')}`)
  return { id: run.json['id'] as string, secret: run.json['secret'] as string }
}

t.test('a failed sign-in and a new account reach the webhooks subscribed to them, signed', async (t) => {
  const ctx = await app(t)
  const receiver = await Receiver.start(t)
  const cli = cliFor(ctx)
  const user = await ctx.addUser()

  const add = await cli(['webhooks', 'add', '--url', receiver.url('/all'), '--event', 'user.created', '--event', 'login.failed', '--json'])
  const { secret } = added(t, add)
  t.match(add.json, { id: /^wh_/, url: receiver.url('/all'), events: ['user.created', 'login.failed'], enabled: true })
  t.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/, 'a whsec_ secret of 32 random bytes')
  const users = added(t, await cli(['webhooks', 'add', '--url', receiver.url('/users'), '--event', 'user.*', '--json']))

  await failedLogin(ctx, user.email)
  const newcomer = 'newcomer@example.com'
  t.equal((await signUp(ctx, new CookieJar(), { name: 'Newcomer', email: newcomer, password: PASSWORD })).statusCode, 200)
  await ctx.deps.outbox.idle()
  await receiver.waitFor(3)
  const created = await ctx.deps.repos.users.findByEmail(newcomer)
  t.ok(created, 'the account exists')

  const at = (path: string) => receiver.received.filter((delivery) => delivery.path === path)
  t.same(
    at('/all').map((delivery) => bodyOf(delivery).type),
    ['login.failed', 'user.created'],
    'both events, in order',
  )
  t.same(
    at('/users').map((delivery) => bodyOf(delivery).type),
    ['user.created'],
    'user.* takes the new account, not the sign-in',
  )
  const [failure, creation] = at('/all')
  for (const delivery of receiver.received) {
    t.equal(delivery.headers['content-type'], 'application/json')
    t.match(delivery.headers['webhook-id'], /^msg_[A-Za-z0-9_-]{22}$/)
    t.equal(delivery.headers['webhook-timestamp'], String(ctx.clock.now()), 'the attempt’s time, in epoch seconds')
    t.ok(signatureValid(delivery.path === '/users' ? users.secret : secret, delivery), `${delivery.path}: the signature verifies`)
    t.notOk(delivery.body.includes(PASSWORD) || delivery.body.includes('not the password'), 'no password in any payload')
  }
  t.notOk(signatureValid(users.secret, failure!), 'another webhook’s secret does not verify it')
  t.notOk(signatureValid(secret, { ...failure!, body: failure!.body.replace('login.failed', 'login.succeeded') }), 'nor a changed body')
  t.not(failure!.headers['webhook-id'], creation!.headers['webhook-id'], 'one message id per message')

  t.same(bodyOf(failure!), {
    type: 'login.failed',
    timestamp: new Date(ctx.clock.now() * 1000).toISOString(),
    data: { audit_type: 'login_failure', user_id: null, client_id: null, ip: '127.0.0.1', detail: {} },
  })
  t.same(bodyOf(creation!), {
    type: 'user.created',
    timestamp: new Date(ctx.clock.now() * 1000).toISOString(),
    data: { audit_type: 'signup', user_id: created!.id, client_id: null, ip: null, detail: {} },
  })

  // Unsubscribed events send nothing: a successful sign-in, a signup with a taken address.
  const before = receiver.received.length
  const rowsBefore = (await webhookRows(ctx)).length
  t.equal((await signInAtLoginPage(ctx, new CookieJar(), user.email, user.password)).statusCode, 303, 'signed in')
  t.equal((await signUp(ctx, new CookieJar(), { name: 'Again', email: user.email, password: PASSWORD })).statusCode, 200)
  await ctx.deps.outbox.idle()
  t.equal(receiver.received.length, before, 'nothing sent for login.succeeded or a signup that created nothing')
  t.equal((await webhookRows(ctx)).length, rowsBefore, 'and nothing queued')
})

t.test('a receiver answering 500 gets the same message again after the backoff; one that keeps failing is given up, audited', async (t) => {
  const ctx = await app(t)
  const receiver = await Receiver.start(t)
  receiver.status = (count, path) => (path === '/broken' || count === 1 ? 500 : 200)
  const cli = cliFor(ctx)
  const user = await ctx.addUser()
  const flaky = added(t, await cli(['webhooks', 'add', '--url', receiver.url('/flaky'), '--event', 'login.*', '--json']))

  await failedLogin(ctx, user.email)
  await ctx.deps.outbox.idle()
  const [first] = await receiver.waitFor(1)
  t.match(await webhookRows(ctx), [{ attempts: 1, delivered_at: null, failed_at: null, last_error: 'the receiver answered HTTP 500' }])
  ctx.clock.advance(4)
  await ctx.deps.outbox.idle()
  t.equal(receiver.received.length, 1, 'not before the backoff (5 s)')
  ctx.clock.advance(1)
  await ctx.deps.outbox.idle()
  const [, second] = await receiver.waitFor(2)
  t.equal(second!.headers['webhook-id'], first!.headers['webhook-id'], 'the same message id: receivers can drop duplicates')
  t.equal(second!.body, first!.body, 'the same event')
  t.equal(Number(second!.headers['webhook-timestamp']) - Number(first!.headers['webhook-timestamp']), 5, 'signed again at its own time')
  t.ok(signatureValid(flaky.secret, first!) && signatureValid(flaky.secret, second!), 'each attempt’s signature verifies')
  t.match(await webhookRows(ctx), [{ attempts: 2, failed_at: null, last_error: null }])
  t.ok((await webhookRows(ctx))[0]!.delivered_at !== null, 'delivered')

  // A receiver that always fails: given up after the outbox's bound (3 attempts here), audited.
  await cli(['webhooks', 'remove', flaky.id])
  const broken = added(t, await cli(['webhooks', 'add', '--url', receiver.url('/broken'), '--event', '*', '--json']))
  await failedLogin(ctx, user.email)
  for (const wait of [0, 5, 10]) {
    ctx.clock.advance(wait)
    await ctx.deps.outbox.idle()
  }
  const brokenPosts = () => receiver.received.filter((delivery) => delivery.path === '/broken')
  t.equal(brokenPosts().length, 3, 'three attempts')
  const [row] = (await webhookRows(ctx)).filter((candidate) => candidate.payload.includes(broken.id))
  t.match(row, { attempts: 3, delivered_at: null, last_error: 'the receiver answered HTTP 500' })
  t.ok(row!.failed_at !== null, 'given up')
  const [event] = await ctx.deps.repos.auditEvents.list({ type: 'webhook_failed', limit: 5 })
  t.match(event, { detail: { webhook: broken.id, type: 'login.failed', attempts: 3, reason: 'the receiver answered HTTP 500' } })
  ctx.clock.advance(86_400)
  await ctx.deps.outbox.idle()
  t.equal(brokenPosts().length, 3, 'a delivery given up is not tried again')
  t.equal(
    (await webhookRows(ctx)).filter((candidate) => candidate.payload.includes(broken.id)).length,
    1,
    'the audited failure is not itself an event (the * webhook got nothing for it)',
  )
})

t.test('the secret is printed once and stored sealed; disabled and removed webhooks get nothing', async (t) => {
  const ctx = await app(t, false)
  const receiver = await Receiver.start(t)
  const cli = cliFor(ctx)
  const user = await ctx.addUser()
  const text = await cli(['webhooks', 'add', '--url', receiver.url('/hook'), '--event', 'login.failed'])
  t.equal(text.code, 0)
  const secret = /whsec_\S+/.exec(text.stdout.join('\n'))?.[0]
  t.ok(secret, 'the text output shows the secret')
  const id = /Webhook (wh_\S+) added/.exec(text.stdout.join('\n'))?.[1]
  t.ok(id)

  const listed = await cli(['webhooks', 'list', '--json'])
  t.match(listed.json, { webhooks: [{ id, url: receiver.url('/hook'), events: ['login.failed'], enabled: true }] })
  t.notOk('secret' in (listed.json['webhooks'] as Record<string, unknown>[])[0]!, 'list has no secret field')
  const textList = await cli(['webhooks', 'list'])
  for (const output of [listed, textList]) t.notOk(output.stdout.join('\n').includes(secret!.slice(6, 30)), 'list never shows the secret')
  const row = await ctx.deps.store.db.selectFrom('webhooks').selectAll().executeTakeFirstOrThrow()
  const key = secret!.slice('whsec_'.length)
  t.notOk(JSON.stringify(row).includes(key.slice(0, 24)), 'the stored row holds no part of the secret')
  t.notOk(JSON.stringify(row).includes(Buffer.from(key, 'base64').toString('base64url').slice(0, 24)), 'in any base64 form')
  const audit = await ctx.deps.repos.auditEvents.list({ type: 'webhook_added', limit: 5 })
  t.match(audit, [{ detail: { webhook: id, host: new URL(receiver.url('/')).host, events: ['login.failed'], actor: 'cli' } }])
  t.notOk(JSON.stringify(audit).includes(key.slice(0, 24)), 'nor does the audit log')

  t.equal((await cli(['webhooks', 'disable', id!])).code, 0)
  await failedLogin(ctx, user.email)
  t.equal((await webhookRows(ctx)).length, 0, 'disabled: nothing queued')
  t.equal((await cli(['webhooks', 'enable', id!])).code, 0)
  await failedLogin(ctx, user.email)
  t.equal((await webhookRows(ctx)).length, 1, 'enabled again: queued')
  // Removed before its queued delivery ran: the delivery is given up, nothing is sent.
  t.equal((await cli(['webhooks', 'remove', id!, '--json'])).json['removed'], id)
  await ctx.deps.outbox.idle()
  t.match(await webhookRows(ctx), [{ delivered_at: null, last_error: 'the webhook no longer exists' }])
  t.equal(receiver.received.length, 0, 'nothing was sent')
  t.same((await cli(['webhooks', 'list', '--json'])).json, { webhooks: [] })
  const again = await cli(['webhooks', 'remove', id!])
  t.equal(again.code, 1)
  t.same(again.stderr, [`idp: no webhook with id ${id!} (see idp webhooks list)`])
})

t.test('idp webhooks add refuses bad input with one line each, and stores nothing', async (t) => {
  const ctx = await app(t, false)
  const cli = cliFor(ctx)
  const refusals: [readonly string[], RegExp, Readonly<Record<string, string>>?][] = [
    [['--url', 'not a url', '--event', 'user.created'], /--url not a url is not an absolute URL/],
    [
      ['--url', 'http://hooks.example.com/in', '--event', 'user.created'],
      /must be https \(http only on localhost, 127\.0\.0\.1 or \[::1\]\)/,
    ],
    [
      ['--url', 'http://127.0.0.1:9/in', '--event', 'user.created'],
      /must be https \(http only on a loopback host while ISSUER is on localhost\)/,
      { ISSUER: 'https://id.example.com' },
    ],
    [['--url', 'ftp://hooks.example.com/in', '--event', 'user.created'], /must be https/],
    [['--url', 'https://hooks.example.com/in#x', '--event', 'user.created'], /must not contain a fragment/],
    [['--url', 'https://user:pass@hooks.example.com/in', '--event', 'user.created'], /must not contain credentials/],
    [['--url', 'https://hooks.example.com/in', '--event', 'user.exploded'], /^idp: unknown event user\.exploded \(events: user\.created, /],
    [['--url', 'https://hooks.example.com/in', '--event', 'nothing.*'], /unknown event nothing\.\*/],
    [['--url', 'https://hooks.example.com/in'], /at least one --event is required/],
    [['--event', 'user.created'], /--url is required/],
  ]
  for (const [argv, message, env] of refusals) {
    const run = await cliFor(ctx, env)(['webhooks', 'add', ...argv])
    t.equal(run.code, 1, argv.join(' '))
    t.equal(run.stderr.length, 1, 'one line')
    t.match(run.stderr[0], message)
    t.same(run.stdout, [])
  }
  t.same((await cli(['webhooks', 'list', '--json'])).json, { webhooks: [] }, 'nothing was stored')
  t.equal(
    added(t, await cli(['webhooks', 'add', '--url', 'https://hooks.example.com/in', '--event', '*', '--json'])).secret.length > 0,
    true,
  )
})
