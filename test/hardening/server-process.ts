/**
 * The real server process for the hardening tests (not a test file): `node dist/src/main.js` in a
 * temporary installation with only the given environment, the `idp` CLI as a child process with
 * the same environment, and a small fetch-based browser that keeps cookies and remembers every
 * cookie value and anti-forgery token it was handed (the log-scan test treats them as secrets).
 */
import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { freePort } from '../helpers/free-port.js'
import { FetchCookieJar, hiddenInput } from '../e2e/helpers/http-login.js'
import { ROOT, runToCompletion, startChild, type Child, type Teardown } from '../e2e/helpers/processes.js'

export const MAIN = path.join(ROOT, 'dist/src/main.js')
export const IDP = path.join(ROOT, 'bin/idp.js')
const REQUEST_TIMEOUT_MS = 20_000

/** The suites run the compiled server; without dist/ there is nothing to run. */
export function requireBuild(): void {
  if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" first`)
}

export interface Installation {
  readonly dir: string
  readonly port: number
  /** ISSUER: http://127.0.0.1:PORT, so mailed links point at the test server. */
  readonly issuer: string
  readonly env: Record<string, string>
}

/** A temporary directory with a database and keys dir, removed by the teardown. */
export async function installation(t: Teardown, env: Record<string, string> = {}): Promise<Installation> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-hardening-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const port = await freePort()
  const issuer = `http://127.0.0.1:${port}`
  return {
    dir,
    port,
    issuer,
    env: { PORT: String(port), HOST: '127.0.0.1', ISSUER: issuer, DATABASE_URL: `sqlite:${path.join(dir, 'idp.db')}`, KEYS_DIR: path.join(dir, 'keys'), ...env },
  }
}

/** Starts the server with nothing but PATH and the installation's environment. */
export function startServer(t: Teardown, install: Installation, env: Record<string, string> = install.env): Child {
  return startChild(t, 'tessera', process.execPath, [MAIN], { cwd: install.dir, env, inheritEnv: false })
}

/** Polls /healthz until it answers 200 (bounded); fails early with the output if the process exits. */
export async function waitHealthy(server: Child, install: Installation, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    if (server.exitStatus) throw new Error(`server exited ${JSON.stringify(server.exitStatus)} before becoming healthy\nstderr: ${server.stderr}\nstdout: ${server.stdout.slice(-2000)}`)
    try {
      const response = await fetch(`${install.issuer}/healthz`, { signal: AbortSignal.timeout(2_000) })
      await response.body?.cancel()
      if (response.status === 200) return
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`server not healthy after ${ms} ms\nstderr: ${server.stderr}\nstdout: ${server.stdout.slice(-2000)}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

export interface CliRun {
  /** The JSON object of the last stdout line (every command runs with --json). */
  readonly json: Record<string, unknown>
  readonly stdout: string
  readonly stderr: string
}

/** `idp … --json` with the installation's environment (or `env`); fails on a non-zero exit. */
export async function idp(t: Teardown, install: Installation, args: readonly string[], options: { stdin?: string; env?: Record<string, string> } = {}): Promise<CliRun> {
  const { exit, stdout, stderr } = await runToCompletion(t, `idp ${args.slice(0, 2).join(' ')}`, process.execPath, [IDP, ...args, '--json'], {
    cwd: install.dir,
    env: options.env ?? install.env,
    inheritEnv: false,
    stdin: options.stdin ?? '',
    timeoutMs: 60_000,
  })
  if (exit.code !== 0) throw new Error(`idp ${args.join(' ')} exited ${JSON.stringify(exit)}\nstderr: ${stderr}\nstdout: ${stdout}`)
  const lines = stdout.trimEnd().split('\n')
  return { json: JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>, stdout, stderr }
}

/** RFC 6749 §2.3.1: client_id and secret are form-url-encoded before base64. */
export function basic(clientId: string, secret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+')
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}`
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

/** The payload of a JWT (no verification: the tests only need jti/sub). */
export function jwtPayload(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>
}

export interface FormPost {
  readonly status: number
  readonly location: string | null
  readonly body: string
}

/**
 * A browser for one origin over real HTTP: keeps cookies, sends Origin on form posts, never
 * follows redirects by itself. Every cookie value it receives and every `_csrf` it reads from a
 * page is remembered in `seenCookies` / `seenCsrfTokens`.
 */
export class Browser {
  readonly #jar = new FetchCookieJar()
  readonly seenCookies: { name: string; value: string }[] = []
  readonly seenCsrfTokens: string[] = []

  constructor(readonly origin: string) {}

  get cookies(): Map<string, string> {
    return this.#jar.cookies
  }

  #store(response: Response): void {
    this.#jar.store(response)
    for (const [name, value] of this.#jar.cookies) {
      if (!this.seenCookies.some((seen) => seen.name === name && seen.value === value)) this.seenCookies.push({ name, value })
    }
  }

  #cookieHeader(): string {
    return this.#jar.header()
  }

  #remember(html: string): void {
    for (const match of html.matchAll(/name="_csrf" value="([^"]*)"/g)) {
      if (!this.seenCsrfTokens.includes(match[1]!)) this.seenCsrfTokens.push(match[1]!)
    }
  }

  /** GET a path (or absolute URL on this origin); returns status, Location and body text. */
  async get(pathOrUrl: string): Promise<FormPost> {
    const response = await fetch(new URL(pathOrUrl, this.origin), {
      redirect: 'manual',
      headers: { cookie: this.#cookieHeader(), accept: 'text/html' },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    })
    this.#store(response)
    const body = await response.text()
    this.#remember(body)
    return { status: response.status, location: response.headers.get('location'), body }
  }

  /** POST a form from this origin's pages (Origin header set, as a browser does). */
  async post(pathOrUrl: string, fields: Record<string, string>): Promise<FormPost> {
    const response = await fetch(new URL(pathOrUrl, this.origin), {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: this.#cookieHeader(), origin: this.origin, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      body: new URLSearchParams(fields).toString(),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    })
    this.#store(response)
    const body = await response.text()
    this.#remember(body)
    return { status: response.status, location: response.headers.get('location'), body }
  }

  /** GET the form page, then POST its form with the page's `_csrf` and the given fields. */
  async submit(pagePath: string, postPath: string, fields: Record<string, string>): Promise<FormPost> {
    const page = await this.get(pagePath)
    if (page.status !== 200) throw new Error(`GET ${pagePath} answered ${page.status}: ${page.body.slice(0, 300)}`)
    return this.post(postPath, { _csrf: hiddenInput(page.body, '_csrf'), ...fields })
  }
}

/** A form POST to /token, /revoke or /introspect, authenticated with HTTP Basic. */
export async function oauthPost(issuer: string, endpoint: string, authorization: string | null, params: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' }
  if (authorization !== null) headers['authorization'] = authorization
  const response = await fetch(`${issuer}${endpoint}`, { method: 'POST', headers, body: new URLSearchParams(params).toString(), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
  const text = await response.text()
  return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) }
}

export { hiddenInput, type Child, type Teardown }
