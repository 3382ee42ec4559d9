/**
 * What the guide tests share: start a guide's example program (Node or Debian's Python) on a
 * loopback port and wait for its "Listening on"/"Running on" line; a browser-like HTTP client
 * (cookies per host, as browsers keep them, redirects followed by hand, Tessera's login form
 * filled in when it shows); and the check that a guide shows its example program verbatim.
 */
import fs from 'node:fs'
import path from 'node:path'
import { freePort } from '../../helpers/free-port.js'
import { FetchCookieJar, hiddenField } from '../../helpers/http-client.js'
import { ROOT, startChild, withTimeout, type Child, type Teardown } from '../../helpers/processes.js'

const GUIDES_DIR = path.join(ROOT, 'docs/guides')
const FIXTURES_DIR = path.join(ROOT, 'test/guides/fixtures')

/** Debian's interpreter: python3-authlib, -flask, -jwt and -requests install for it (not pyenv's). */
const DEBIAN_PYTHON = '/usr/bin/python3'
const PYTHON_PACKAGES = 'python3-authlib python3-requests python3-flask python3-jwt'

// Generous: a login waits for argon2id in Tessera's hasher process, which runs at background priority.
const REQUEST_TIMEOUT_MS = 30_000

/** Waits until the child's stdout or stderr matches; fails early, with its output, if it exits. */
function waitForOutput(child: Child, pattern: RegExp, ms: number, hint = ''): Promise<RegExpExecArray> {
  const wait = new Promise<RegExpExecArray>((resolve, reject) => {
    const check = () => {
      const match = pattern.exec(child.stdout) ?? pattern.exec(child.stderr)
      const exit = child.exitStatus
      if (match || exit) {
        child.process.stdout?.off('data', check)
        child.process.stderr?.off('data', check)
        child.process.off('close', check)
        child.process.off('error', check)
        if (match) resolve(match)
        else
          reject(
            new Error(
              `${child.name} exited (${JSON.stringify(exit)}) before printing ${pattern}${hint}\nstdout: ${child.stdout}\nstderr: ${child.stderr}`,
            ),
          )
      }
    }
    // Registered after Child's own listeners, so child.stdout/stderr already hold the chunk.
    child.process.stdout?.on('data', check)
    child.process.stderr?.on('data', check)
    child.process.on('close', check)
    child.process.on('error', check)
    check()
  })
  return withTimeout(wait, ms, `${child.name} to print ${pattern} (stderr so far: ${child.stderr.slice(-800)})`)
}

export interface RunningApp {
  readonly child: Child
  readonly url: string
}

/** A free loopback port and the base URL an example app will have there. */
export async function reservePort(): Promise<{ port: number; url: string }> {
  const port = await freePort()
  return { port, url: `http://127.0.0.1:${port}` }
}

/**
 * Runs test/guides/fixtures/<file> with PORT=port and the given environment (.mjs with this
 * Node, .py with Debian's Python) and waits until it says it listens on that port.
 */
export async function startExample(t: Teardown, file: string, port: number, env: Readonly<Record<string, string>>): Promise<RunningApp> {
  const script = path.join(FIXTURES_DIR, file)
  const command = file.endsWith('.py') ? DEBIAN_PYTHON : process.execPath
  const child = startChild(t, file, command, [script], { env: { ...env, PORT: String(port) } })
  // Node examples print "Listening on http://127.0.0.1:PORT" once listening; Flask's development
  // server (werkzeug) logs " * Running on http://127.0.0.1:PORT" once its socket is bound.
  const hint = file.endsWith('.py') ? ` (the Python examples need Debian's packages: apt-get install -y ${PYTHON_PACKAGES})` : ''
  await waitForOutput(child, new RegExp(`(?:Listening|Running) on http://127\\.0\\.0\\.1:${port}\\b`), 60_000, hint)
  return { child, url: `http://127.0.0.1:${port}` }
}

/** The fenced code blocks of a Markdown file, each without its fences. */
function codeBlocks(markdown: string): string[] {
  const blocks: string[] = []
  const fence = /^```[^\n]*\n([\s\S]*?)^```$/gm
  for (let match = fence.exec(markdown); match; match = fence.exec(markdown)) blocks.push(match[1]!)
  return blocks
}

/** Whether docs/guides/<guide> has a code block that is exactly test/guides/fixtures/<fixture>. */
export function guideShowsFixture(guide: string, fixture: string): boolean {
  const markdown = fs.readFileSync(path.join(GUIDES_DIR, guide), 'utf8')
  const code = fs.readFileSync(path.join(FIXTURES_DIR, fixture), 'utf8')
  return codeBlocks(markdown).includes(code.endsWith('\n') ? code : `${code}\n`)
}

export interface Page {
  readonly url: URL
  readonly status: number
  readonly headers: Headers
  readonly body: string
}

export interface Navigation {
  /** The last page: the first answer that was not a redirect. */
  readonly page: Page
  /** Every URL requested, in order (the authorization request among them). */
  readonly visited: readonly URL[]
  /** The request that went to Tessera's authorization endpoint, if any. */
  readonly authorizationRequest: URL | undefined
  /** Where Tessera sent the browser back to (the relying party's redirect_uri), if it did. */
  readonly authorizationResponse: URL | undefined
  /** Whether Tessera's login form was filled in on the way. */
  readonly loggedIn: boolean
}

/**
 * A browser without a screen: one cookie jar keyed by host name (browsers do not separate
 * cookies by port, so the example app and Tessera, both on 127.0.0.1, share the jar as they
 * would in a real browser), every redirect followed by hand, and Tessera's login form posted
 * with its anti-forgery token and an Origin header when a navigation reaches it.
 */
export class Browser {
  readonly #cookies = new Map<string, FetchCookieJar>()

  constructor(
    readonly issuer: string,
    readonly credentials?: { readonly email: string; readonly password: string },
  ) {}

  cookieHeader(url: URL): string {
    return this.#cookies.get(url.hostname)?.header() ?? ''
  }

  #store(url: URL, response: Response): void {
    let jar = this.#cookies.get(url.hostname)
    if (!jar) this.#cookies.set(url.hostname, (jar = new FetchCookieJar()))
    jar.store(response)
  }

  /** One request with this browser's cookies; redirects are not followed. */
  async fetch(url: URL, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Page> {
    const headers: Record<string, string> = { accept: 'text/html,application/json', ...init.headers }
    const cookie = this.cookieHeader(url)
    if (cookie) headers['cookie'] = cookie
    let body: string | undefined
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded'
      body = new URLSearchParams(init.form).toString()
    }
    const response = await fetch(url, {
      method: init.method ?? (body ? 'POST' : 'GET'),
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    })
    this.#store(url, response)
    return { url, status: response.status, headers: response.headers, body: await response.text() }
  }

  /**
   * Follows a navigation to its end: redirects across origins, and Tessera's login form (filled in
   * with this browser's credentials, once) when it shows. A form post may start it; `stopBefore`
   * ends it at the redirect to a URL with that prefix, without requesting it.
   */
  async navigate(
    start: string | URL,
    init: { form?: Record<string, string>; origin?: string; stopBefore?: string } = {},
  ): Promise<Navigation> {
    const issuer = new URL(this.issuer)
    const visited: URL[] = []
    let authorizationRequest: URL | undefined
    let authorizationResponse: URL | undefined
    let loggedIn = false
    let url = new URL(start)
    let page = await this.fetch(url, init.form ? { form: init.form, headers: { origin: init.origin ?? url.origin } } : {})
    visited.push(url)
    for (let hop = 0; hop < 30; hop++) {
      if (page.status >= 300 && page.status < 400) {
        const location = page.headers.get('location')
        if (!location) throw new Error(`${page.status} from ${url.href} without a Location header`)
        const next = new URL(location, url)
        const fromIssuer = url.origin === issuer.origin
        if (next.origin === issuer.origin && next.pathname === new URL(`${this.issuer}/authorize`).pathname) authorizationRequest = next
        if (fromIssuer && next.origin !== issuer.origin) authorizationResponse = next
        // A redirect URI nobody serves (the tests' own relying party): stop before following it.
        if (init.stopBefore !== undefined && next.href.startsWith(init.stopBefore))
          return { page, visited, authorizationRequest, authorizationResponse, loggedIn }
        url = next
        page = await this.fetch(url)
        visited.push(url)
        continue
      }
      if (url.origin === issuer.origin && url.pathname === '/login' && page.status === 200 && !loggedIn && this.credentials) {
        loggedIn = true
        const form = {
          email: this.credentials.email,
          password: this.credentials.password,
          _csrf: hiddenField(page.body, '_csrf'),
          interaction: hiddenField(page.body, 'interaction'),
        }
        url = new URL('/login', issuer)
        page = await this.fetch(url, { form, headers: { origin: issuer.origin } })
        visited.push(url)
        continue
      }
      return { page, visited, authorizationRequest, authorizationResponse, loggedIn }
    }
    throw new Error(`more than 30 redirects, last ${url.href}`)
  }
}

/** The JSON body of a page (throws with the body when it is not JSON). */
export function json(page: Page): Record<string, unknown> {
  try {
    return JSON.parse(page.body) as Record<string, unknown>
  } catch {
    throw new Error(
      `expected JSON from ${page.url.href}, got ${page.status} ${page.headers.get('content-type')}: ${page.body.slice(0, 500)}`,
    )
  }
}
