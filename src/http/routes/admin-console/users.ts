/**
 * Users in the console: search by address, one account with its roles, second factors, linked
 * identities and live sessions; disable and enable, set roles, reset second factors and delete
 * (the last two after a confirmation page). Changes go through accounts/lifecycle.ts. An admin
 * cannot lock themselves out here: their own account is not disabled, deleted, stripped of its
 * factors or of the admin role from this page (another admin, or the CLI, can).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import {
  deleteUser,
  disableUser,
  enableUser,
  getUser,
  InvalidAccountInput,
  InvalidRoleNames,
  resetUserFactors,
  setUserRoles,
  UnknownUser,
} from '../../../accounts/lifecycle.js'
import { exportUserData } from '../../../accounts/data-export.js'
import type { Deps } from '../../../deps.js'
import { PageError } from '../../../errors/oauth-error.js'
import { ADMIN_ROLE, type User } from '../../../model/user.js'
import { acrOf } from '../../../oauth/acr.js'
import { listUserSessions } from '../../../sessions/user-sessions.js'
import { describeDevice } from '../../device.js'
import type { Views } from '../../views/render.js'
import {
  adminOf,
  ConfirmedForm,
  consoleWords,
  CsrfForm,
  csrfFields,
  IdParams,
  noticeText,
  NoticeQuery,
  sendConfirmation,
  sendConsoleMessage,
  sendConsolePage,
  userHref,
  withNotice,
  type Admin,
} from './support.js'

const PAGE_SIZE = 50

const UsersQuery = Type.Object({
  email: Type.Optional(Type.String({ maxLength: 320 })),
  /** The cursor: the last address of the previous page. */
  after: Type.Optional(Type.String({ maxLength: 320 })),
  notice: Type.Optional(Type.String({ maxLength: 40 })),
})
const RolesForm = Type.Object({ roles: Type.String({ maxLength: 2048 }), ...csrfFields })

const NOT_FOUND = new PageError(404, 'errors.console_no_user')

type Status = 'active' | 'disabled' | 'not_verified'
const statusOf = (user: User): Status => (user.disabledAt !== null ? 'disabled' : user.emailVerified ? 'active' : 'not_verified')
const STATUS_WORDS: Readonly<Record<Status, string>> = {
  active: 'console.user.status_active',
  disabled: 'console.user.status_disabled',
  not_verified: 'console.user.status_not_verified',
}

/** What an admin may not do to their own account here, each with its sentence. */
const NOT_ON_YOURSELF = {
  removeAdmin: 'console.user.self_remove_admin',
  disable: 'console.user.self_disable',
  resetFactors: 'console.user.self_reset_factors',
  delete: 'console.user.self_delete',
} as const

/** Roles as typed in the form: separated by spaces or commas. */
const parseRoles = (raw: string): string[] => raw.split(/[\s,]+/).filter((role) => role !== '')

export const userPages: FastifyPluginAsyncTypebox<{ deps: Deps; views: Views }> = async (app, { deps, views }) => {
  /** The account with what the page shows beside it, or the 404 page. */
  async function load(id: string) {
    try {
      return await getUser(deps, id)
    } catch (error) {
      throw error instanceof UnknownUser ? NOT_FOUND : error
    }
  }

  /** Runs a lifecycle change; an account deleted meanwhile is the 404 page. */
  async function change<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run()
    } catch (error) {
      throw error instanceof UnknownUser ? NOT_FOUND : error
    }
  }

  /** The page refusing a change an admin would make to their own account. */
  function notOnYourself(request: FastifyRequest, reply: FastifyReply, user: User, what: keyof typeof NOT_ON_YOURSELF) {
    const words = consoleWords(deps, request)
    return sendConsoleMessage(
      views,
      reply,
      words,
      {
        title: words.t('console.user.self_title'),
        section: 'users',
        message: words.t(NOT_ON_YOURSELF[what]),
        detail: words.t('console.user.self_detail'),
        back: { href: userHref(user.id), label: words.t('console.user.back') },
      },
      409,
    )
  }

  const isSelf = (request: FastifyRequest, userId: string): Admin | null => {
    const admin = adminOf(request)
    return admin.user.id === userId ? admin : null
  }

  async function renderUser(
    request: FastifyRequest,
    reply: FastifyReply,
    userId: string,
    options: { notice?: string | undefined; rolesValue?: string; rolesProblem?: string; status?: number } = {},
  ) {
    const admin = adminOf(request)
    const words = consoleWords(deps, request)
    const { user, factors, identities } = await load(userId)
    const [sessions, connections] = await Promise.all([
      listUserSessions(deps, user.id),
      identities.length > 0 ? deps.repos.connections.list() : Promise.resolve([]),
    ])
    const connectionName = (id: string) => connections.find((connection) => connection.id === id)?.name ?? id
    const href = userHref(user.id)
    return sendConsolePage(
      views,
      reply,
      words,
      'admin-user',
      {
        title: user.email,
        section: 'users',
        notice: noticeText(words, options.notice),
        self: admin.user.id === user.id,
        user: {
          id: user.id,
          email: user.email,
          name: user.name,
          emailVerified: user.emailVerified,
          status: statusOf(user),
          statusText: words.t(STATUS_WORDS[statusOf(user)]),
          disabled: user.disabledAt !== null,
          created: user.createdAt,
          roles: user.roles,
        },
        factors,
        identities: identities.map((identity) => ({
          connection: connectionName(identity.connectionId),
          email: identity.email,
          since: identity.createdAt,
        })),
        sessions: sessions.map((session) => ({
          handle: session.handle,
          current: session.idHash === admin.session.idHash,
          device: describeDevice(session.userAgent, words.t),
          acr: acrOf(session.amr),
          since: session.createdAt,
          lastSeen: session.lastSeenAt,
        })),
        rolesValue: options.rolesValue ?? user.roles.join(' '),
        rolesProblem: options.rolesProblem ?? null,
        actions: {
          roles: `${href}/roles`,
          disable: `${href}/disable`,
          enable: `${href}/enable`,
          resetFactors: `${href}/reset-factors`,
          delete: `${href}/delete`,
          export: `${href}/export`,
          endSession: `${href}/sessions/end`,
          endAll: `${href}/sessions/end-all`,
          audit: `/admin/audit?${new URLSearchParams({ user: user.email }).toString()}`,
        },
        csrfToken: reply.formToken(),
      },
      options.status ?? 200,
    )
  }

  app.get('/admin/users', { schema: { querystring: UsersQuery }, config: { page: true } }, async (request, reply) => {
    const words = consoleWords(deps, request)
    const email = request.query.email?.trim() ?? ''
    const after = request.query.after
    const found = await deps.repos.users.search({
      emailContains: email,
      ...(after !== undefined ? { afterEmail: after } : {}),
      limit: PAGE_SIZE + 1,
    })
    const page = found.slice(0, PAGE_SIZE)
    const last = page.at(-1)
    return sendConsolePage(views, reply, words, 'admin-users', {
      title: words.t('console.users.title'),
      section: 'users',
      notice: noticeText(words, request.query.notice),
      email,
      users: page.map((user) => ({
        email: user.email,
        name: user.name,
        href: userHref(user.id),
        roles: user.roles,
        status: statusOf(user),
        statusText: words.t(STATUS_WORDS[statusOf(user)]),
      })),
      moreHref: found.length > PAGE_SIZE && last ? `/admin/users?${new URLSearchParams({ email, after: last.email }).toString()}` : null,
      firstHref: after === undefined ? null : `/admin/users?${new URLSearchParams({ email }).toString()}`,
    })
  })

  app.get('/admin/users/:id', { schema: { params: IdParams, querystring: NoticeQuery }, config: { page: true } }, async (request, reply) =>
    renderUser(request, reply, request.params.id, { notice: request.query.notice }),
  )

  app.post(
    '/admin/users/:id/roles',
    { schema: { params: IdParams, body: RolesForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) => {
      const { id } = request.params
      const roles = parseRoles(request.body.roles)
      const self = isSelf(request, id)
      if (self && !roles.includes(ADMIN_ROLE)) return notOnYourself(request, reply, self.user, 'removeAdmin')
      try {
        await change(() => setUserRoles(deps, id, roles, adminOf(request).actor))
      } catch (error) {
        if (!(error instanceof InvalidAccountInput)) throw error
        // The role names the rules refused, in the page's words; any other refusal in the rules' own (English) text.
        const rolesProblem =
          error instanceof InvalidRoleNames
            ? consoleWords(deps, request).t('console.user.roles_invalid', { roles: error.names.join(', ') })
            : error.problem
        return renderUser(request, reply, id, { rolesValue: request.body.roles, rolesProblem, status: 400 })
      }
      return withNotice(reply, userHref(id), 'roles-saved')
    },
  )

  app.post(
    '/admin/users/:id/disable',
    { schema: { params: IdParams, body: CsrfForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) => {
      const { id } = request.params
      const self = isSelf(request, id)
      if (self) return notOnYourself(request, reply, self.user, 'disable')
      await change(() => disableUser(deps, id, adminOf(request).actor))
      return withNotice(reply, userHref(id), 'user-disabled')
    },
  )

  app.post(
    '/admin/users/:id/enable',
    { schema: { params: IdParams, body: CsrfForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) => {
      const { id } = request.params
      await change(() => enableUser(deps, id, adminOf(request).actor))
      return withNotice(reply, userHref(id), 'user-enabled')
    },
  )

  // The user's data as a JSON download (accounts/data-export.ts: nothing secret in it); a post, so
  // that every export is a deliberate, audited act behind the anti-forgery check.
  app.post(
    '/admin/users/:id/export',
    { schema: { params: IdParams, body: CsrfForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) => {
      const document = await change(() => exportUserData(deps, request.params.id, adminOf(request).actor))
      return reply
        .header('content-type', 'application/json; charset=utf-8')
        .header('cache-control', 'no-store')
        .header('content-disposition', `attachment; filename="user-${request.params.id.replace(/[^A-Za-z0-9_-]/g, '')}.json"`)
        .send(`${JSON.stringify(document, null, 2)}\n`)
    },
  )

  app.get('/admin/users/:id/reset-factors', { schema: { params: IdParams }, config: { page: true } }, async (request, reply) => {
    const { user, factors } = await load(request.params.id)
    if (isSelf(request, user.id)) return notOnYourself(request, reply, user, 'resetFactors')
    const words = consoleWords(deps, request)
    return sendConfirmation(views, reply, words, {
      title: words.t('console.user.reset_title', { email: user.email }),
      section: 'users',
      message: words.t('console.user.reset_message', {
        email: user.email,
        passkeys: factors.passkeys,
        totp: factors.totp ? 'yes' : 'no',
        codes: factors.recoveryCodes,
      }),
      detail: words.t('console.user.reset_detail'),
      action: `${userHref(user.id)}/reset-factors`,
      button: words.t('console.user.reset_button'),
      cancelHref: userHref(user.id),
    })
  })

  app.post(
    '/admin/users/:id/reset-factors',
    { schema: { params: IdParams, body: ConfirmedForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) => {
      const { id } = request.params
      const self = isSelf(request, id)
      if (self) return notOnYourself(request, reply, self.user, 'resetFactors')
      await change(() => resetUserFactors(deps, id, adminOf(request).actor))
      return withNotice(reply, userHref(id), 'factors-reset')
    },
  )

  app.get('/admin/users/:id/delete', { schema: { params: IdParams }, config: { page: true } }, async (request, reply) => {
    const { user } = await load(request.params.id)
    if (isSelf(request, user.id)) return notOnYourself(request, reply, user, 'delete')
    const words = consoleWords(deps, request)
    return sendConfirmation(views, reply, words, {
      title: words.t('console.user.delete_title', { email: user.email }),
      section: 'users',
      message: words.t('console.user.delete_message', { email: user.email }),
      detail: words.t('console.user.delete_detail'),
      action: `${userHref(user.id)}/delete`,
      button: words.t('console.user.delete'),
      cancelHref: userHref(user.id),
    })
  })

  app.post(
    '/admin/users/:id/delete',
    { schema: { params: IdParams, body: ConfirmedForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) => {
      const { id } = request.params
      const self = isSelf(request, id)
      if (self) return notOnYourself(request, reply, self.user, 'delete')
      await change(() => deleteUser(deps, id, adminOf(request).actor))
      return withNotice(reply, '/admin/users', 'user-deleted')
    },
  )
}
