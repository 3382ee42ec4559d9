/**
 * Changing how someone signs in (a factor, a linked identity) needs a recent sign-in: a stolen
 * session must not be able to add its own way in.
 */
import { pageWords } from './page-locale.js'
import type { FastifyReply } from 'fastify'
import type { Deps } from '../deps.js'
import type { LoginSession } from '../model/session.js'
import { sendPage, type Views } from './views/render.js'

/** A sign-in at most this old (seconds) may change sign-in methods. */
const RECENT_SIGN_IN = 15 * 60

/** Null when the session signed in recently; otherwise the page asking for a new sign-in (nothing changes). */
export function staleSignInPage(
  deps: Pick<Deps, 'clock' | 'i18n'>,
  views: Views,
  reply: FastifyReply,
  session: LoginSession,
): FastifyReply | null {
  if (deps.clock.now() - session.authTime <= RECENT_SIGN_IN) return null
  const words = pageWords(deps, reply.request)
  const html = views.render(
    'message',
    {
      title: words.t('message.sign_in_again.title'),
      message: words.t('message.sign_in_again.message'),
      link: { href: '/login', label: words.t('message.sign_in_again.link') },
    },
    words.locale,
  )
  return sendPage(reply, html, 403)
}
