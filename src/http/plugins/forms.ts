/**
 * Anti-forgery for every form (docs/security.md §H): a token from @fastify/csrf-protection, bound to
 * the login session when there is one, plus an Origin check. Cross-site posts get 403 and change
 * nothing. Form routes use `preHandler: app.formGuards`.
 */
import csrfProtection from '@fastify/csrf-protection'
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerHookHandler } from 'fastify'
import { PageError } from '../../errors/oauth-error.js'
import { hashSecret } from '../../secrets.js'
import { cookieNames } from '../session-cookie.js'

export interface FormProtectionOptions {
  readonly issuer: string
  readonly https: boolean
  readonly hmacKey: Buffer
}

/** What a token is bound to: the session reference hash, or a constant before login. */
function sessionBinding(request: FastifyRequest, sessionCookie: string): string {
  const raw = request.cookies[sessionCookie]
  return raw === undefined ? 'anonymous' : hashSecret(raw)
}

export async function registerFormProtection(app: FastifyInstance, options: FormProtectionOptions): Promise<void> {
  const { https } = options
  const names = cookieNames(https)
  const expectedOrigin = new URL(options.issuer).origin
  await app.register(csrfProtection, {
    cookieKey: names.csrf,
    cookieOpts: { path: '/', sameSite: 'lax', httpOnly: true, secure: https },
    getToken: (request) => {
      const body = request.body as Record<string, unknown> | undefined
      return typeof body?.['_csrf'] === 'string' ? body['_csrf'] : undefined
    },
    getUserInfo: (request) => sessionBinding(request, names.session),
    csrfOpts: { hmacKey: options.hmacKey.toString('base64url'), userInfo: true },
  })

  const checkOrigin: preHandlerHookHandler = (request, _reply, done) => {
    done(isSameOriginPost(request, expectedOrigin) ? undefined : new PageError(403, 'errors.cross_site_form'))
  }
  // Frozen: a route that needs more preHandlers (a preHandler rate limit appends its own) takes a copy.
  app.decorate('formGuards', Object.freeze([checkOrigin, app.csrfProtection.bind(app) as preHandlerHookHandler]) as preHandlerHookHandler[])
  app.decorateReply('formToken', function (this: FastifyReply) {
    return this.generateCsrf({ userInfo: sessionBinding(this.request, names.session) } as Parameters<FastifyReply['generateCsrf']>[0])
  })
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Frozen (see above): spread it when adding handlers. */
    formGuards: preHandlerHookHandler[]
  }
  interface FastifyReply {
    /** An anti-forgery token for a form rendered in this response. */
    formToken(): string
  }
}

/**
 * Is this form post from our own pages? Under `Referrer-Policy: no-referrer` Chromium sends
 * `Origin: null` even for same-origin form posts, so `null` is accepted only when the browser's
 * own `Sec-Fetch-Site` says same-origin (a header pages cannot forge). The anti-forgery token
 * remains the primary defence; this check stops cross-site posts before it.
 */
export function isSameOriginPost(request: FastifyRequest, expectedOrigin: string): boolean {
  const origin = request.headers.origin
  const fetchSite = request.headers['sec-fetch-site']
  if (fetchSite !== undefined && fetchSite !== 'same-origin' && fetchSite !== 'none') return false
  if (origin === undefined || origin === expectedOrigin) return true
  return origin === 'null' && fetchSite === 'same-origin'
}
