/**
 * end_session_endpoint (RP-Initiated Logout 1.0). With a valid id_token_hint for the signed-in
 * user the session ends at once; otherwise the user is asked to confirm (a GET alone never signs
 * anyone out). Ending a session revokes every grant bound to it, offline ones included, and tells
 * the relying parties that received tokens in it (back-channel logout, through the outbox).
 */
import { pageWords } from '../page-locale.js'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Deps } from '../../deps.js'
import { OAuthError, PageError } from '../../errors/oauth-error.js'
import { logoutClientId, postLogoutRedirect, postLogoutUrl, type HintClaims } from '../../oauth/logout.js'
import { rejectDuplicates, single, type RawParams } from '../../oauth/params.js'
import { TokenInvalid, verifyIdToken } from '../../tokens/verify.js'
import { OAuthParams } from '../schemas.js'
import { allowFormRedirects } from '../plugins/security-headers.js'
import { clearSessionCookie, currentSession } from '../session-cookie.js'
import { endSession } from '../../sessions/end-session.js'
import { sendPage, type Views } from '../views/render.js'

const ConfirmForm = Type.Object({
  // Optional in the schema so a missing token reaches the anti-forgery check (403), not validation (400).
  _csrf: Type.Optional(Type.String({ maxLength: 256 })),
  decision: Type.Union([Type.Literal('logout'), Type.Literal('stay')]),
  client_id: Type.Optional(Type.String({ maxLength: 200 })),
  post_logout_redirect_uri: Type.Optional(Type.String({ maxLength: 2000 })),
  state: Type.Optional(Type.String({ maxLength: 2000 })),
})

/** Logout is a page, never a redirect, until the client is known: protocol errors are shown. */
function asPage<T>(run: () => T): T {
  try {
    return run()
  } catch (error) {
    if (error instanceof OAuthError) throw new PageError(400, 'errors.logout_refused', {}, error.description)
    throw error
  }
}

export const logoutRoutes: FastifyPluginAsyncTypebox<{ deps: Deps; views: Views }> = async (app, { deps, views }) => {
  async function verifiedHint(raw: string | undefined): Promise<HintClaims | null> {
    if (raw === undefined) return null
    try {
      // An expired ID token still identifies the session it came from.
      const claims = await verifyIdToken(raw, { keys: deps.keys, issuer: deps.config.issuer, now: deps.clock.now(), allowExpired: true })
      return { sub: claims.sub, aud: claims.aud }
    } catch (error) {
      if (error instanceof TokenInvalid) return null
      throw error
    }
  }

  async function signOut(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const session = await currentSession(deps, request)
    clearSessionCookie(deps, reply)
    if (session) await endSession(deps, { idHash: session.idHash, userId: session.userId, reason: 'logout', ip: request.ip })
  }

  const wordsFor = (request: FastifyRequest) => pageWords(deps, request)

  /** A page of a title and a message, in the request's language. */
  function messagePage(reply: FastifyReply, titleKey: string, messageKey: string) {
    const words = wordsFor(reply.request)
    return sendPage(reply, views.render('message', { title: words.t(titleKey), message: words.t(messageKey) }, words.locale))
  }

  function finish(reply: FastifyReply, redirectUri: string | null, state: string | undefined) {
    reply.header('cache-control', 'no-store')
    if (redirectUri !== null) return reply.redirect(postLogoutUrl(redirectUri, state), 303)
    return messagePage(reply, 'logout.signed_out.title', 'logout.signed_out.message')
  }

  async function logout(params: RawParams, request: FastifyRequest, reply: FastifyReply) {
    asPage(() => rejectDuplicates(params))
    const hint = await verifiedHint(single(params, 'id_token_hint'))
    const clientId = asPage(() => logoutClientId(hint, single(params, 'client_id')))
    const client = clientId === undefined ? undefined : await deps.clients.find(clientId)
    const redirectUri = postLogoutRedirect(client, single(params, 'post_logout_redirect_uri'))
    const state = single(params, 'state')
    const session = await currentSession(deps, request)
    if (hint !== null && (session === undefined || session.userId === hint.sub)) {
      await signOut(request, reply)
      return finish(reply, redirectUri, state)
    }
    const words = wordsFor(request)
    const html = views.render(
      'logout-confirm',
      {
        title: words.t('logout.confirm.title'),
        clientName: client?.name ?? '',
        clientId: client?.id ?? '',
        postLogoutRedirectUri: redirectUri ?? '',
        state: state ?? '',
        csrfToken: reply.formToken(),
      },
      words.locale,
    )
    allowFormRedirects(reply, [redirectUri])
    return sendPage(reply, html)
  }

  const config = { page: true }
  app.get('/logout', { schema: { querystring: OAuthParams }, config }, (request, reply) =>
    logout(request.query as RawParams, request, reply),
  )
  app.post('/logout', { schema: { body: OAuthParams }, config }, (request, reply) => logout(request.body as RawParams, request, reply))

  app.post('/logout/confirm', { schema: { body: ConfirmForm }, config, preHandler: app.formGuards }, async (request, reply) => {
    const { decision, client_id: clientId, state } = request.body
    const client = clientId ? await deps.clients.find(clientId) : undefined
    // Re-checked here: the hidden field came back from the browser.
    const redirectUri = postLogoutRedirect(client, request.body.post_logout_redirect_uri || undefined)
    if (decision === 'stay') return messagePage(reply, 'logout.stayed.title', 'logout.stayed.message')
    await signOut(request, reply)
    return finish(reply, redirectUri, state || undefined)
  })
}
