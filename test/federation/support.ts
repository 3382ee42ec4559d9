/**
 * A browser signing in through an upstream: Tessera's pages through app.inject (the Browser of
 * test/helpers/client.ts), the upstream's over real HTTP with its own cookie jar, the redirect
 * chain followed by hand as a browser does, forms on the upstream submitted with their fields.
 */
import type { LightMyRequestResponse as Response } from 'fastify'
import { Browser, hiddenField } from '../helpers/client.js'
import { FetchCookieJar, send } from '../helpers/http-client.js'
import type { TestApp } from '../helpers/test-app.js'
import { cliFor, type CliRun } from '../helpers/cli.js'
import type { Upstream } from './upstreams.js'

const HIDDEN = /<input type="hidden" name="([^"]+)" value="([^"]*)">/g

/**
 * Follows the upstream from its authorization URL until it redirects to `issuer`; returns that
 * URL (Tessera's callback). `deny`: the person refuses at the upstream.
 */
export async function throughUpstream(start: string, issuer: string, options: { deny?: boolean } = {}): Promise<URL> {
  const jar = new FetchCookieJar()
  let url = new URL(start)
  for (let step = 0; step < 12; step++) {
    if (url.origin === new URL(issuer).origin) return url
    const answer = await send(url, { jar })
    if (answer.status >= 300 && answer.status < 400) {
      url = new URL(answer.headers.get('location') ?? '', url)
      continue
    }
    const action = /<form method="post" action="([^"]+)">/.exec(answer.text)?.[1]
    if (answer.status !== 200 || action === undefined) throw new Error(`upstream answered ${answer.status}: ${answer.text.slice(0, 300)}`)
    const fields = new URLSearchParams(
      [...answer.text.matchAll(HIDDEN)].map((match): [string, string] => [match[1]!, match[2]!.replace(/&#38;/g, '&')]),
    )
    if (options.deny) fields.set('deny', '1')
    const posted = await send(new URL(action, url), {
      jar,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: fields.toString(),
    })
    if (posted.status < 300 || posted.status >= 400)
      throw new Error(`upstream form answered ${posted.status}: ${posted.text.slice(0, 300)}`)
    url = new URL(posted.headers.get('location') ?? '', url)
  }
  throw new Error('the upstream never redirected back')
}

/** The upstream's authorization URL from Tessera's redirect, for tests that inspect it. */
export function upstreamRedirect(response: Response): URL {
  if (response.statusCode !== 303 || !response.headers.location?.startsWith('http'))
    throw new Error(
      `expected a redirect to the upstream, got ${response.statusCode} ${String(response.headers.location)} ${response.body.slice(0, 200)}`,
    )
  return new URL(response.headers.location)
}

/**
 * Clicks "Continue with …" on Tessera's login page (for an interaction, or the standalone page),
 * signs in at the upstream, and returns Tessera's answer to the callback.
 */
export async function continueWith(
  ctx: TestApp,
  browser: Browser,
  connectionId: string,
  options: { interaction?: string; deny?: boolean } = {},
): Promise<Response> {
  const interaction = options.interaction ?? ''
  const page = await browser.get(interaction === '' ? '/login' : `/login?interaction=${interaction}`)
  const started = await browser.post(`/login/connections/${connectionId}`, { _csrf: hiddenField(page.body, '_csrf'), interaction })
  return finishAtUpstream(ctx, browser, upstreamRedirect(started), options)
}

/** From the upstream's authorization URL to Tessera's answer to the callback. */
export async function finishAtUpstream(ctx: TestApp, browser: Browser, start: URL, options: { deny?: boolean } = {}): Promise<Response> {
  const callback = await throughUpstream(start.href, ctx.issuer, options)
  return browser.get(`${callback.pathname}${callback.search}`)
}

/** `idp connections add` for `upstream` as "Company SSO" (id company-sso), the secret on stdin, as an operator would; `flags`: more of them. */
export const addCompanySso = (ctx: TestApp, upstream: Upstream, flags: readonly string[] = []): Promise<CliRun> =>
  cliFor(ctx)(
    [
      'connections',
      'add',
      '--name',
      'Company SSO',
      '--issuer',
      upstream.issuer,
      '--client-id',
      upstream.clientId,
      '--client-secret-stdin',
      ...flags,
    ],
    // Piped as `echo` would: with its newline, which the CLI drops.
    `${upstream.clientSecret}\n`,
  )
