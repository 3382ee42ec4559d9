/**
 * Graceful shutdown of the real process: SIGTERM while logins are in flight (held there by
 * stopping the server's password-hashing process with SIGSTOP, so that they are in flight on a
 * machine of any speed; SIGCONT lets them finish after the signal). Every request that was in flight gets its normal answer (no reset, no
 * 503), connections opened after the signal are refused, the process exits 0 within a bound and
 * says so in its log, and what the in-flight logins wrote (their sessions) was committed before
 * the database closed. Also: /healthz and /readyz while running.
 */
import t from 'tap'
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import { hiddenField, HttpBrowser } from '../helpers/http-client.js'
import { withTimeout } from '../helpers/processes.js'
import { idp, installation, requireBuild, startServer, waitHealthy } from '../helpers/server-process.js'

const EMAIL = 'slow.login@example.com'
const PASSWORD = 'a patient password for shutdown'
const IN_FLIGHT = 6
/** The log line main.ts writes when a signal starts the shutdown. */
const SHUTDOWN_LINE = /"signal":"SIGTERM"[^\n]*"msg":"shutting down/

interface Answer {
  readonly status: number
  readonly location: string | undefined
  readonly setCookie: readonly string[]
  /** Date.now() when the whole response had arrived. */
  readonly at: number
}

/** The password-hashing process the server forked (hasher-worker), once it exists. */
function hasherOf(serverPid: number): number | undefined {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8')
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (parent === serverPid && fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('hasher-worker')) return Number(entry)
    } catch {
      // The process ended while we looked.
    }
  }
  return undefined
}

/** True when the server has read every byte the given client connections sent it (kernel receive queues empty). */
function serverHasRead(serverPort: number, clientPorts: readonly number[]): boolean {
  const hex = (port: number) => port.toString(16).toUpperCase().padStart(4, '0')
  const lines = fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)
  return clientPorts.every((clientPort) =>
    lines.some((line) => {
      const [, local, remote, , queues] = line.trim().split(/\s+/)
      return local?.endsWith(`:${hex(serverPort)}`) && remote?.endsWith(`:${hex(clientPort)}`) && queues?.split(':')[1] === '00000000'
    }),
  )
}

async function until<T>(what: string, probe: () => T | undefined, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = probe()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** A form POST on its own connection (no keep-alive), resolved with the full answer. */
function postOnNewConnection(
  port: number,
  path: string,
  cookie: string,
  form: Record<string, string>,
  sent: (clientPort: number) => void,
): Promise<Answer> {
  const body = new URLSearchParams(form).toString()
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent: false,
        headers: {
          cookie,
          origin: `http://127.0.0.1:${port}`,
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
          accept: 'text/html',
        },
      },
      (response) => {
        response.resume()
        response.on('error', reject)
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            location: response.headers.location,
            setCookie: response.headers['set-cookie'] ?? [],
            at: Date.now(),
          }),
        )
      },
    )
    request.on('error', reject)
    request.on('finish', () => sent(request.socket?.localPort ?? 0))
    request.end(body)
  })
}

/** Resolves with the error code of a TCP connection attempt, or 'connected'. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve('connected')
    })
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message))
  })
}

t.before(requireBuild)

t.test('SIGTERM: in-flight requests finish, new connections are refused, exit 0', async (t) => {
  const install = await installation(t, { LOG_LEVEL: 'info', LOGIN_RATE_LIMIT: '1000' })
  await idp(t, install, ['users', 'add', '--email', EMAIL, '--password-stdin'], { stdin: `${PASSWORD}\n` })
  const server = startServer(t, install)
  await waitHealthy(server, install)

  t.test('probes while running', async (t) => {
    const health = await fetch(`${install.issuer}/healthz`)
    t.equal(health.status, 200)
    t.same(await health.json(), { status: 'ok' })
    const ready = await fetch(`${install.issuer}/readyz`)
    t.equal(ready.status, 200)
    t.match(await ready.json(), { status: 'ready', checks: { database: 'ok', signing_key: 'ok' } })
  })

  // Each browser has its login form (and anti-forgery cookie) before the slow posts start.
  const browsers = await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      const browser = new HttpBrowser(install.issuer)
      const page = await browser.get('/login')
      return { browser, csrf: hiddenField(page.body, '_csrf') }
    }),
  )
  // The server starts its hashing process at once (for the dummy hash); stopping it holds every
  // login in flight until SIGCONT.
  const hasher = await until('the server’s hashing process', () => hasherOf(server.process.pid!))
  process.kill(hasher, 'SIGSTOP')
  t.teardown(() => {
    try {
      process.kill(hasher, 'SIGCONT')
    } catch {
      // Already gone with the server.
    }
  })
  let inFlight: Promise<Answer>[] = []
  const clientPorts: number[] = []
  const allSent = new Promise<void>((resolve) => {
    const onSent = (clientPort: number) => {
      clientPorts.push(clientPort)
      if (clientPorts.length === IN_FLIGHT) resolve()
    }
    inFlight = browsers.map(({ browser, csrf }) =>
      postOnNewConnection(
        install.port,
        '/login',
        [...browser.cookies].map(([name, value]) => `${name}=${value}`).join('; '),
        { _csrf: csrf, interaction: '', email: EMAIL, password: PASSWORD },
        onSent,
      ),
    )
  })
  const settled = () => Promise.allSettled(inFlight)
  await allSent
  // Every request has reached the server (it read them; they now wait for the stopped hasher).
  await until('the server to read the logins', () => serverHasRead(install.port, clientPorts))
  let pending = IN_FLIGHT
  for (const request of inFlight)
    void request.then(
      () => (pending -= 1),
      () => (pending -= 1),
    )

  const signalAt = Date.now()
  const pendingAtSignal = pending
  server.process.kill('SIGTERM')
  await server.waitForStdout(SHUTDOWN_LINE, 10_000)

  // The listener closes at once while the logins are still being worked on.
  let refusal = 'not tried'
  let stillRunning = false
  let stillPending = 0
  const deadline = Date.now() + 3_000
  while (Date.now() < deadline) {
    refusal = await tryConnect(install.port)
    // A connection the kernel queued just before the listener closed is reset, not refused: the
    // listener was still closing, so try again.
    if (refusal !== 'connected' && refusal !== 'ECONNRESET') {
      stillRunning = server.exitStatus === undefined
      stillPending = pending
      break
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const fetchAfter = await fetch(`${install.issuer}/healthz`, { signal: AbortSignal.timeout(3_000) }).then(
    (response) => `answered ${response.status}`,
    (error: Error & { cause?: { code?: string } }) => error.cause?.code ?? error.message,
  )

  // The logins may finish now, after the signal.
  process.kill(hasher, 'SIGCONT')
  const results = await withTimeout(settled(), 60_000, 'the in-flight logins')
  const exit = await server.exited(30_000)
  const exitedWithin = Date.now() - signalAt

  t.ok(pendingAtSignal > 0, `logins were in flight when SIGTERM was sent (${pendingAtSignal} of ${IN_FLIGHT})`)
  t.equal(refusal, 'ECONNREFUSED', 'a new connection after SIGTERM is refused')
  t.ok(stillRunning && stillPending > 0, `…while the process still runs and ${stillPending} login(s) are still in flight`)
  t.equal(fetchAfter, 'ECONNREFUSED', 'a new HTTP request after SIGTERM is refused')
  const failures = results.flatMap((result, index) =>
    result.status === 'rejected' ? [`login ${index}: ${(result.reason as Error).message}`] : [],
  )
  t.same(failures, [], 'no in-flight request lost its connection')
  const answers = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))
  t.same(
    answers.map((answer) => [answer.status, answer.location]),
    Array.from({ length: IN_FLIGHT }, () => [303, '/account']),
    'every in-flight login got its normal answer: 303 to /account',
  )
  t.ok(
    answers.filter((answer) => answer.at > signalAt).length > 0,
    `answers arrived after the signal (${answers.filter((answer) => answer.at > signalAt).length})`,
  )
  t.same(exit, { code: 0, signal: null }, `exit code 0 (stderr: ${server.stderr.slice(-500)})`)
  t.ok(exitedWithin < 30_000, `the process exited within the bound (${exitedWithin} ms after SIGTERM)`)
  t.equal(server.stderr, '', 'nothing on stderr')
  t.match(server.stdout, SHUTDOWN_LINE, 'the log shows the shutdown')
  const loginsLogged = server.stdout.split('\n').filter((line) => line.includes('"event":"login_success"')).length
  t.equal(loginsLogged, IN_FLIGHT, 'each in-flight login was completed and logged')

  // What the in-flight logins wrote was committed before the database closed.
  const again = startServer(t, install)
  await waitHealthy(again, install)
  for (const [index, answer] of answers.entries()) {
    const session = answer.setCookie.find((line) => line.startsWith('tessera_session='))
    if (!session) {
      t.fail(`login ${index} set no session cookie`)
      continue
    }
    const account = await fetch(`${install.issuer}/account`, {
      redirect: 'manual',
      headers: { cookie: session.split(';')[0]!, accept: 'text/html' },
    })
    t.equal(account.status, 200, `the session of in-flight login ${index} survived the shutdown`)
    await account.body?.cancel()
  }
  again.process.kill('SIGTERM')
  t.same(await again.exited(30_000), { code: 0, signal: null }, 'an idle server also stops with exit 0')
})

t.test('SIGTERM: a client that never finishes its request does not hold the process forever', async (t) => {
  // Kubernetes' default grace period: after it the process is SIGKILLed anyway, in-flight work and all.
  const BOUND_MS = 30_000
  const install = await installation(t, { LOG_LEVEL: 'info' })
  const server = startServer(t, install)
  await waitHealthy(server, install)

  // One connection stops in the middle of its headers, one in the middle of its body.
  const stalled = [
    'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ',
    'POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type=',
  ]
  const sockets = await Promise.all(
    stalled.map(
      (bytes) =>
        new Promise<net.Socket>((resolve) => {
          const socket = net.connect(install.port, '127.0.0.1', () => {
            socket.write(bytes)
            resolve(socket)
          })
          socket.on('error', () => undefined)
        }),
    ),
  )
  t.teardown(() => sockets.forEach((socket) => socket.destroy()))
  await new Promise((resolve) => setTimeout(resolve, 300))

  const signalAt = Date.now()
  server.process.kill('SIGTERM')
  await server.waitForStdout(SHUTDOWN_LINE, 10_000)
  const exit = await server.exited(BOUND_MS).catch(() => undefined)
  t.ok(
    exit !== undefined,
    `the process exits within ${BOUND_MS / 1000} s of SIGTERM although two clients never finish their requests${exit ? ` (${Date.now() - signalAt} ms, ${JSON.stringify(exit)})` : ' (it was still running)'}`,
  )
  if (exit) t.equal(exit.signal, null, 'it stopped by itself, not by a signal')
})
