/**
 * The language choice on the account page (issue 19): one of the supported languages, or "Browser
 * default" ('') to clear the choice. Registered inside the account scope, whose preHandler has
 * loaded the signed-in user. After saving, the account page's notice is already in the new
 * language: page-locale.ts reads the choice on every page request.
 */
import { pageWords } from '../page-locale.js'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyRequest } from 'fastify'
import { setPreferredLanguage } from '../../accounts/language-preference.js'
import type { Deps } from '../../deps.js'
import type { LoginSession } from '../../model/session.js'
import type { User } from '../../model/user.js'
import type { RenderAccount } from './account.js'

const LanguageForm = Type.Object({
  // Any string up to a language tag's length: an unsupported one is refused on the page, not by validation.
  locale: Type.String({ maxLength: 35 }),
  // Optional in the schema so a missing token reaches the anti-forgery check (403), not validation (400).
  _csrf: Type.Optional(Type.String({ maxLength: 256 })),
})

export const accountLanguageRoutes: FastifyPluginAsyncTypebox<{
  deps: Deps
  signedIn: (request: FastifyRequest) => { session: LoginSession; user: User }
  renderAccount: RenderAccount
}> = async (app, { deps, signedIn, renderAccount }) => {
  app.post(
    '/account/language',
    { schema: { body: LanguageForm }, config: { page: true }, preHandler: [...app.formGuards] },
    async (request, reply) => {
      const { session, user } = signedIn(request)
      const result = await setPreferredLanguage(deps, user, request.body.locale)
      if (!result.ok) {
        // Still in the language the page was in (the choice did not change).
        const words = pageWords(deps, request)
        return renderAccount(reply, session, user, { problems: { locale: words.t('account.language.unsupported') }, status: 400 })
      }
      return reply.redirect('/account?notice=language-saved', 303)
    },
  )
}
