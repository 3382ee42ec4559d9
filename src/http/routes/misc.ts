import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

import type { Deps } from '../../deps.js'
import { Type } from '@sinclair/typebox'
import { CLIENT_LOGO_PATH } from '../../clients/client-logo.js'
import { AnyQuery } from '../schemas.js'

const STYLESHEET = fs.readFileSync(new URL('../assets/style.css', import.meta.url), 'utf8')
const PASSKEYS_SCRIPT = fs.readFileSync(new URL('../assets/passkeys.js', import.meta.url), 'utf8')
// The maintained browser half of WebAuthn, served from our own origin (no CDN: the CSP allows
// scripts from 'self' only). The UMD bundle defines the global SimpleWebAuthnBrowser.
const WEBAUTHN_SCRIPT = fs.readFileSync(
  path.join(path.dirname(createRequire(import.meta.url).resolve('@simplewebauthn/browser')), '../dist/bundle/index.umd.min.js'),
  'utf8',
)

/**
 * Probes for orchestrators — `/healthz`: the process is alive (restart it when this fails);
 * `/readyz`: it can serve (database reachable, a signing key loaded), else 503 so the load
 * balancer sends traffic elsewhere — the stylesheets, scripts and the brand's logo.
 */
export const miscRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  app.get('/healthz', { schema: { querystring: AnyQuery } }, async (_request, reply) =>
    reply.header('cache-control', 'no-store').send({ status: 'ok' }),
  )

  app.get('/readyz', { schema: { querystring: AnyQuery } }, async (request, reply) => {
    const checks = { database: 'ok', signing_key: 'ok' }
    try {
      await deps.store.health()
    } catch (error) {
      checks.database = 'unavailable'
      request.log.warn({ event: 'not_ready', reason: error instanceof Error ? error.message : String(error) }, 'database unreachable')
    }
    try {
      deps.keys.signingKey()
    } catch {
      checks.signing_key = 'unavailable'
    }
    const ready = checks.database === 'ok' && checks.signing_key === 'ok'
    return reply
      .status(ready ? 200 : 503)
      .header('cache-control', 'no-store')
      .headers(ready ? {} : { 'retry-after': '5' })
      .send({ status: ready ? 'ready' : 'unavailable', checks })
  })

  for (const [file, body] of [
    ['/assets/passkeys.js', PASSKEYS_SCRIPT],
    ['/assets/simplewebauthn-browser.js', WEBAUTHN_SCRIPT],
  ] as const) {
    app.get(file, { schema: { querystring: AnyQuery } }, async (_request, reply) =>
      reply.header('cache-control', 'public, max-age=3600').type('text/javascript; charset=utf-8').send(body),
    )
  }

  // THEME_DIR's style.css replaces the built-in one (read at start, config/branding.ts).
  const stylesheet = deps.config.theme?.stylesheet ?? STYLESHEET
  app.get('/assets/style.css', { schema: { querystring: AnyQuery } }, async (_request, reply) => {
    return reply.header('cache-control', 'public, max-age=3600').type('text/css; charset=utf-8').send(stylesheet)
  })

  // The brand stylesheet and BRAND_LOGO_FILE: their paths carry a hash of their content, so they
  // can be cached for good and a new logo or colour is a new URL.
  const { brand } = deps.config
  for (const asset of [brand.stylesheet, ...(brand.logoAsset ? [brand.logoAsset] : [])]) {
    app.get(asset.path, { schema: { querystring: AnyQuery } }, async (_request, reply) =>
      reply
        .header('cache-control', 'public, max-age=31536000, immutable')
        // An SVG opened on its own is a document on our origin: no script, no plugins, sandboxed.
        .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox")
        .type(asset.contentType)
        .send(asset.body),
    )
  }

  // Client logos (clients/client-logo.ts): the digest in the path names the bytes, so they are cached for good.
  app.get(
    `${CLIENT_LOGO_PATH}/:clientId/:digest`,
    {
      schema: {
        params: Type.Object({ clientId: Type.String({ maxLength: 2048 }), digest: Type.String({ maxLength: 64 }) }),
        querystring: AnyQuery,
      },
    },
    async (request, reply) => {
      const image = await deps.clientLogos.image(request.params.clientId, request.params.digest)
      if (image === null)
        return reply.status(404).header('cache-control', 'no-store').send({ error: 'not_found', error_description: 'no such logo' })
      return reply
        .header('cache-control', 'public, max-age=31536000, immutable')
        .header('content-security-policy', "default-src 'none'; sandbox")
        .header('x-content-type-options', 'nosniff')
        .type(image.contentType)
        .send(image.body)
    },
  )

  app.get('/', { schema: { querystring: AnyQuery } }, async (_request, reply) => {
    return reply.type('application/json; charset=utf-8').send({ issuer: deps.config.issuer, discovery: deps.config.discoveryUrl })
  })
}
