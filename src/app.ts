/**
 * buildApp(deps): the HTTP application, with no I/O of its own. The process shell (main.ts) and
 * the tests both build it from explicit dependencies.
 */
import cookie from '@fastify/cookie'
import formbody from '@fastify/formbody'
import rateLimit from '@fastify/rate-limit'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { Deps } from './deps.js'
import { lazyChildLogger } from './logger.js'
import { PageError } from './errors/oauth-error.js'
import { RateLimited, sendError, type PageRenderer } from './errors/to-response.js'
import { registerPageLocale, requestLocale } from './http/page-locale.js'
import { registerCors, registeredOrigins } from './http/plugins/cors.js'
import { registerFormProtection } from './http/plugins/forms.js'
import { apiSecurityHeaders, registerSecurityHeaders, securityHeaders } from './http/plugins/security-headers.js'
import { rejectNulCharacters } from './http/plugins/input-guards.js'
import { accountRoutes } from './http/routes/account.js'
import { adminApiRoutes } from './http/routes/admin-api/index.js'
import { ADMIN_API_PATH } from './oauth/admin-api.js'
import { adminConsoleRoutes } from './http/routes/admin-console/index.js'
import { passwordResetRoutes } from './http/routes/password-reset.js'
import { signupRoutes } from './http/routes/signup.js'
import { verifyEmailRoutes } from './http/routes/verify-email.js'
import { authorizeRoutes } from './http/routes/authorize.js'
import { consentRoutes } from './http/routes/consent.js'
import { deviceAuthorizationRoutes } from './http/routes/device-authorization.js'
import { deviceVerificationRoutes } from './http/routes/device-verification.js'
import { introspectRoutes } from './http/routes/introspect.js'
import { logoutRoutes } from './http/routes/logout.js'
import { revokeRoutes } from './http/routes/revoke.js'
import { parRoutes } from './http/routes/par.js'
import { loginRoutes } from './http/routes/login.js'
import { connectionRoutes } from './http/routes/connections.js'
import { upstreamClients } from './connections/upstream-client.js'
import { secondFactorRoutes } from './http/routes/second-factor.js'
import { miscRoutes } from './http/routes/misc.js'
import { tokenRoutes } from './http/routes/token/index.js'
import { userinfoRoutes } from './http/routes/userinfo.js'
import { registerRoutes } from './http/routes/register.js'
import { wellKnownRoutes } from './http/routes/well-known.js'
import { wellKnownDocuments } from './http/well-known-documents.js'
import { DocumentFastPath } from './http/document-fast-path.js'
import { brandView, createViews } from './http/views/render.js'
import { echoRequestId, requestLogBindings } from './http/request-context.js'
import { registerHttpMetrics } from './metrics/http.js'

const BODY_LIMIT = 64 * 1024

/** What the API and the pages share: security headers and the NUL guard. */
async function registerRequestGuards(scope: FastifyInstance, headers: Readonly<Record<string, string>>): Promise<void> {
  await registerSecurityHeaders(scope, headers)
  rejectNulCharacters(scope)
}

/**
 * Per-address flood guards for the pages whose posts cost a password hash or a mail (login,
 * signup, forgot and reset password): in memory, per process, far above real use. Failures are
 * throttled in the database instead (throttle/). The OAuth API has none: every request there
 * proves a credential or is a counted failure.
 */
async function registerFloodGuards(scope: FastifyInstance, deps: Deps): Promise<void> {
  await scope.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_request, context) => new RateLimited(Math.max(1, Math.ceil(context.ttl / 1000))),
    onExceeded: (request) =>
      void deps.audit.record('throttled', { ip: request.ip, detail: { route: request.routeOptions.url ?? null } }, 'rate limit exceeded'),
  })
}

export async function buildApp(deps: Deps): Promise<FastifyInstance> {
  const https = deps.config.issuerIsHttps
  const views = createViews(deps.i18n, brandView(deps.config.brand), deps.config.theme)
  // Error pages speak the request's language: refined for page routes (page-locale.ts), else what the request says.
  const errorPage: PageRenderer = (view, request) =>
    views.errorPage(view, request.locale ?? requestLocale(request, deps.config.defaultLocale))
  // Upstream identity providers' client configurations, kept for this app's lifetime.
  const configurationFor = upstreamClients(deps.upstreamKey)
  const headers = { page: securityHeaders({ https }), json: apiSecurityHeaders({ https }) }
  const documents = wellKnownDocuments(deps.config, deps.keys)
  // At info every request gets an access-log line (the hook below), which needs Fastify's request.
  const logsEveryRequest = deps.log.isLevelEnabled('info')
  // Discovery and JWKS before routing, unless every request is logged or traced.
  const fastPath = logsEveryRequest || deps.tracing ? undefined : new DocumentFastPath(documents, deps.metrics)
  const app = Fastify({
    ...(fastPath ? { serverFactory: fastPath.serverFactory } : {}),
    loggerInstance: deps.log as FastifyBaseLogger,
    // X-Forwarded-For is only believed from a configured proxy (docs/security.md §H).
    trustProxy: deps.config.trustProxy.length === 0 ? false : [...deps.config.trustProxy],
    bodyLimit: BODY_LIMIT,
    requestIdHeader: false,
    // Fastify's own request log includes the query string, which carries codes, state and
    // id_token_hint: replaced by the path-only log below.
    logController: new LogController({ disableRequestLogging: true }),
    // Per-request loggers are made when first used (see lazyChildLogger); every line carries the
    // request's trace_id and request_id when it has them (http/request-context.ts).
    childLoggerFactory: (logger, bindings, options, raw) =>
      lazyChildLogger(
        logger as Logger,
        requestLogBindings(bindings, raw.headers, deps.tracing),
        Object.keys(options).length === 0 ? undefined : options,
      ) as FastifyBaseLogger,
    return503OnClosing: true,
    // Slow clients cannot hold a connection (or a shutdown) open: whole request within 30 s.
    requestTimeout: 30_000,
    routerOptions: { maxParamLength: 200 },
    // A path Fastify cannot decode (`/%FF`) is answered by the router before any hook: through the
    // same error mapping, with the security headers, never echoing the URL.
    frameworkErrors: (error, request, reply) => sendError(error, request, reply, errorPage, headers),
  }).withTypeProvider<TypeBoxTypeProvider>()

  // The access log is an info line; below that level the hook is not installed at all (it would
  // cost every request a hook call for nothing).
  // Metrics (METRICS_PORT): without them no hook at all.
  if (deps.metrics) registerHttpMetrics(app, deps.metrics)
  app.addHook('onRequest', echoRequestId)
  if (fastPath)
    app.addHook('preClose', (done) => {
      fastPath.close()
      done()
    })
  app.decorateRequest('locale', null)

  if (logsEveryRequest) {
    app.addHook('onResponse', async (request, reply) => {
      request.log.info(
        {
          method: request.method,
          path: request.url.split('?')[0],
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime),
          ip: request.ip,
        },
        'request completed',
      )
    })
  }

  // Errors and unknown paths may be answered outside the scopes below (an undecodable path, a
  // document's query refused): these handlers set the security headers themselves.
  app.setErrorHandler((error, request, reply) => sendError(error, request, reply, errorPage, headers))
  app.setNotFoundHandler((request, reply) => {
    const wantsHtml = (request.headers.accept ?? '').includes('text/html')
    if (wantsHtml) return sendError(new PageError(404, 'errors.not_found'), request, reply, errorPage, headers)
    return reply.status(404).headers(headers.json).send({ error: 'not_found', error_description: 'no such endpoint' })
  })

  // A parser, not a hook: every scope reads form bodies, and unknown paths still answer 404.
  await app.register(formbody, { bodyLimit: BODY_LIMIT })

  // Sibling scopes, each with only the hooks its routes need (hooks apply to a whole scope).
  const allowedOrigins = registeredOrigins(deps.repos.clients)
  // 1. Discovery and JWKS: public documents, the most requested URLs, no per-request hooks at all.
  await app.register(wellKnownRoutes, { documents, allowedOrigins })
  // 2. The OAuth API that clients and browser JavaScript of registered clients call: no cookies,
  //    CORS for registered origins.
  await app.register(async (api) => {
    await registerRequestGuards(api, headers.json)
    await registerCors(api, allowedOrigins)
    // Only the two endpoints that create rows for anyone who asks have a flood guard here.
    await registerFloodGuards(api, deps)
    await api.register(tokenRoutes, { deps })
    await api.register(revokeRoutes, { deps })
    await api.register(parRoutes, { deps })
    await api.register(introspectRoutes, { deps })
    await api.register(userinfoRoutes, { deps })
    // RFC 8628: for devices, not browsers (not among the CORS paths).
    await api.register(deviceAuthorizationRoutes, { deps })
    // Dynamic client registration (RFC 7591): any origin may call it (the client is not registered yet).
    if (deps.config.registration !== 'off') await api.register(registerRoutes, { deps })
  })
  // 3. Browser pages: cookies (the login session), anti-forgery on every form, no CORS.
  await app.register(async (site) => {
    // Signed cookies (the device cookie) use a key every instance derives from the KEK.
    await site.register(cookie, { secret: deps.cookieKey })
    await registerRequestGuards(site, headers.page)
    registerPageLocale(site, deps)
    await registerFloodGuards(site, deps)
    await registerFormProtection(site, { issuer: deps.config.issuer, https: deps.config.issuerIsHttps, hmacKey: deps.formKey })
    await site.register(authorizeRoutes, { deps })
    await site.register(loginRoutes, { deps, views, configurationFor })
    await site.register(connectionRoutes, { deps, views, configurationFor })
    await site.register(secondFactorRoutes, { deps, views })
    await site.register(consentRoutes, { deps, views })
    await site.register(deviceVerificationRoutes, { deps, views })
    await site.register(signupRoutes, { deps, views })
    await site.register(passwordResetRoutes, { deps, views })
    await site.register(verifyEmailRoutes, { deps, views })
    await site.register(accountRoutes, { deps, views, configurationFor })
    // The admin console: its own scope, whose hook admits only admins with a second factor.
    await site.register(adminConsoleRoutes, { deps, views })
    await site.register(logoutRoutes, { deps, views })
    await site.register(miscRoutes, { deps })
  })
  // 4. The admin API: OAuth access tokens for ISSUER/admin/api, RFC 9457 problems, its OpenAPI
  //    document; no cookies, no CORS (http/routes/admin-api/index.ts).
  await app.register(adminApiRoutes, { prefix: ADMIN_API_PATH, deps, securityHeaders: headers.json })
  return app as unknown as FastifyInstance
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route renders HTML: errors become an escaped page instead of JSON. */
    page?: boolean
  }
}
