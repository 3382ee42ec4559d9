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
  CsrfForm,
  csrfFields,
  IdParams,
  noticeText,
  NoticeQuery,
  sendConfirmation,
  sendConsoleMessage,
  sendConsolePage,
  userHref,
  when,
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

const statusOf = (user: User): string => (user.disabledAt !== null ? 'disabled' : user.emailVerified ? 'active' : 'not verified')

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
  function notOnYourself(reply: FastifyReply, user: User, what: string) {
    return sendConsoleMessage(
      views,
      reply,
      {
        title: 'Not on your own account',
        section: 'users',
        message: `You cannot ${what} your own account from the console: you could lock yourself out.`,
        detail: 'Another administrator can, or an operator with the idp command.',
        back: { href: userHref(user.id), label: 'Back to the account' },
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
      'admin-user',
      {
        title: user.email,
        section: 'users',
        notice: noticeText(options.notice),
        self: admin.user.id === user.id,
        user: {
          id: user.id,
          email: user.email,
          name: user.name,
          emailVerified: user.emailVerified,
          status: statusOf(user),
          disabled: user.disabledAt !== null,
          created: when(user.createdAt),
          roles: user.roles,
        },
        factors,
        identities: identities.map((identity) => ({
          connection: connectionName(identity.connectionId),
          email: identity.email,
          since: when(identity.createdAt),
        })),
        sessions: sessions.map((session) => ({
          handle: session.handle,
          current: session.idHash === admin.session.idHash,
          // The console speaks English.
          device: describeDevice(session.userAgent, deps.i18n.translator('en').t),
          acr: acrOf(session.amr),
          since: when(session.createdAt),
          lastSeen: when(session.lastSeenAt),
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
    const email = request.query.email?.trim() ?? ''
    const after = request.query.after
    const found = await deps.repos.users.search({
      emailContains: email,
      ...(after !== undefined ? { afterEmail: after } : {}),
      limit: PAGE_SIZE + 1,
    })
    const page = found.slice(0, PAGE_SIZE)
    const last = page.at(-1)
    return sendConsolePage(views, reply, 'admin-users', {
      title: 'Users',
      section: 'users',
      notice: noticeText(request.query.notice),
      email,
      users: page.map((user) => ({
        email: user.email,
        name: user.name,
        href: userHref(user.id),
        roles: user.roles,
        status: statusOf(user),
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
      if (self && !roles.includes(ADMIN_ROLE)) return notOnYourself(reply, self.user, 'remove the admin role from')
      try {
        await change(() => setUserRoles(deps, id, roles, adminOf(request).actor))
      } catch (error) {
        if (!(error instanceof InvalidAccountInput)) throw error
        return renderUser(request, reply, id, { rolesValue: request.body.roles, rolesProblem: error.problem, status: 400 })
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
      if (self) return notOnYourself(reply, self.user, 'disable')
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
    if (isSelf(request, user.id)) return notOnYourself(reply, user, 'remove the second factors of')
    return sendConfirmation(views, reply, {
      title: `Reset the second factors of ${user.email}?`,
      section: 'users',
      message: `Every passkey (${factors.passkeys}), the authenticator app${factors.totp ? '' : ' (none set up)'} and the unused recovery codes (${factors.recoveryCodes}) of ${user.email} will be removed.`,
      detail:
        'Do this for someone who lost them, once you know it is them. They are told by mail, sign in with their password and set up new ones.',
      action: `${userHref(user.id)}/reset-factors`,
      button: 'Remove the second factors',
      cancelHref: userHref(user.id),
    })
  })

  app.post(
    '/admin/users/:id/reset-factors',
    { schema: { params: IdParams, body: ConfirmedForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) => {
      const { id } = request.params
      const self = isSelf(request, id)
      if (self) return notOnYourself(reply, self.user, 'remove the second factors of')
      await change(() => resetUserFactors(deps, id, adminOf(request).actor))
      return withNotice(reply, userHref(id), 'factors-reset')
    },
  )

  app.get('/admin/users/:id/delete', { schema: { params: IdParams }, config: { page: true } }, async (request, reply) => {
    const { user } = await load(request.params.id)
    if (isSelf(request, user.id)) return notOnYourself(reply, user, 'delete')
    return sendConfirmation(views, reply, {
      title: `Delete ${user.email}?`,
      section: 'users',
      message: `The account ${user.email} will be deleted with all its data: sessions, tokens, consents, passkeys and linked sign-ins. This cannot be undone.`,
      detail:
        'Its security events stay in the audit log (by user id) until they expire. To stop someone signing in for now, disable the account instead.',
      action: `${userHref(user.id)}/delete`,
      button: 'Delete the account',
      cancelHref: userHref(user.id),
    })
  })

  app.post(
    '/admin/users/:id/delete',
    { schema: { params: IdParams, body: ConfirmedForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) => {
      const { id } = request.params
      const self = isSelf(request, id)
      if (self) return notOnYourself(reply, self.user, 'delete')
      await change(() => deleteUser(deps, id, adminOf(request).actor))
      return withNotice(reply, '/admin/users', 'user-deleted')
    },
  )
}
