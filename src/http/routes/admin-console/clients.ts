/**
 * Clients in the console: the list, one client's registration and policies, a new secret (shown
 * once, on the answer to the post that made it; the old one keeps working for the overlap
 * chosen), and deletion after a confirmation page. Changes go through clients/lifecycle.ts.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyReply } from 'fastify'
import {
  ClientChangeRefused,
  type ClientRefusal,
  deleteClient,
  getClient,
  listClients,
  rotateClientSecret,
  UnknownClient,
  updateClient,
  type ClientChanges,
  type ClientDetails,
} from '../../../clients/lifecycle.js'
import { InvalidClientMetadata, pageLinksOf, type ClientMetadataReason } from '../../../clients/registration.js'
import type { Deps } from '../../../deps.js'
import { PageError } from '../../../errors/oauth-error.js'
import type { Translator } from '../../../i18n/translator.js'
import { isPublicClient, usesPrivateKeyJwt, type Client } from '../../../model/client.js'
import type { Views } from '../../views/render.js'
import {
  adminOf,
  clientHref,
  ConfirmedForm,
  consoleWords,
  csrfFields,
  IdParams,
  inWords,
  noticeText,
  NoticeQuery,
  sendConfirmation,
  sendConsoleMessage,
  sendConsolePage,
  withNotice,
} from './support.js'

/** How long the old secret keeps working after a rotation: the choices the form offers (seconds). */
const OVERLAPS = ['0', '3600', '86400', '604800'] as const
const DEFAULT_OVERLAP = '86400'
const RotateForm = Type.Object({
  overlap: Type.Union(OVERLAPS.map((seconds) => Type.Literal(seconds))),
  ...csrfFields,
})

const overlapChoices = (words: Translator) =>
  OVERLAPS.map((seconds) => ({
    value: seconds,
    label:
      seconds === '0'
        ? words.t('console.client.overlap_none')
        : words.t('console.client.overlap_keep', { duration: inWords(words, Number(seconds)) }),
  }))

/**
 * The settings form: lists one per line (scopes also space-separated); a checkbox is sent only
 * when ticked, so the form's own `settings` field says which policies it carried.
 */
const SettingsForm = Type.Object({
  settings: Type.Literal('1'),
  name: Type.Optional(Type.String({ maxLength: 200 })),
  redirect_uris: Type.Optional(Type.String({ maxLength: 20_000 })),
  post_logout_redirect_uris: Type.Optional(Type.String({ maxLength: 20_000 })),
  scopes: Type.Optional(Type.String({ maxLength: 5_000 })),
  require_mfa: Type.Optional(Type.Literal('on')),
  require_dpop: Type.Optional(Type.Literal('on')),
  require_par: Type.Optional(Type.Literal('on')),
  backchannel_logout_uri: Type.Optional(Type.String({ maxLength: 2_000 })),
  logo_uri: Type.Optional(Type.String({ maxLength: 2_000 })),
  client_uri: Type.Optional(Type.String({ maxLength: 2_000 })),
  policy_uri: Type.Optional(Type.String({ maxLength: 2_000 })),
  tos_uri: Type.Optional(Type.String({ maxLength: 2_000 })),
  ...csrfFields,
})
type SettingsInput = Static<typeof SettingsForm>

/** What each field of the form is called on the page (its label's message, for the error naming it). */
const FIELD_LABELS: Readonly<Record<string, string>> = {
  name: 'console.client.name',
  redirect_uris: 'console.client.redirect_uris',
  post_logout_redirect_uris: 'console.client.post_logout_uris',
  scopes: 'console.client.scopes',
  backchannel_logout_uri: 'console.client.backchannel_logout_uri',
  backchannel_logout_session_required: 'console.client.backchannel_logout_uri',
  grant_types: 'console.client.redirect_uris',
  logo_uri: 'console.client.logo_uri',
  client_uri: 'console.client.client_uri',
  policy_uri: 'console.client.policy_uri',
  tos_uri: 'console.client.tos_uri',
}

/** A page-link field of the form: absent stays, empty removes, a value sets. */
const pageLink = (value: string | undefined): string | null | undefined => {
  const trimmed = value?.trim()
  return trimmed === undefined ? undefined : trimmed === '' ? null : trimmed
}

const lines = (text: string | undefined): string[] | undefined =>
  text === undefined
    ? undefined
    : text
        .split(/\r?\n/)
        .map((line) => line.trim())
        .filter((line) => line !== '')

/**
 * The form as changes for clients/lifecycle.ts. A metadata-document client's own document decides
 * its name, URIs and scopes: only its policies are taken.
 */
function changesFrom(client: Client, form: SettingsInput): ClientChanges {
  const logoutUri = form.backchannel_logout_uri?.trim()
  const policies: ClientChanges = {
    requireMfa: form.require_mfa === 'on',
    requireDpop: form.require_dpop === 'on',
    requirePar: form.require_par === 'on',
    ...(logoutUri === undefined ? {} : { backchannelLogoutUri: logoutUri === '' ? null : logoutUri }),
    ...(logoutUri === '' ? { backchannelLogoutSessionRequired: false } : {}),
  }
  if (client.registration === 'metadata_document') return policies
  const links: ClientChanges = {
    logoUri: pageLink(form.logo_uri),
    clientUri: pageLink(form.client_uri),
    policyUri: pageLink(form.policy_uri),
    tosUri: pageLink(form.tos_uri),
  }
  const scopes = form.scopes === undefined ? undefined : form.scopes.split(/\s+/).filter((scope) => scope !== '')
  return {
    ...policies,
    ...links,
    ...(form.name !== undefined ? { name: form.name } : {}),
    ...(form.redirect_uris !== undefined ? { redirectUris: lines(form.redirect_uris) } : {}),
    ...(form.post_logout_redirect_uris !== undefined ? { postLogoutRedirectUris: lines(form.post_logout_redirect_uris) } : {}),
    ...(scopes !== undefined ? { scopes } : {}),
  }
}

const NOT_FOUND = new PageError(404, 'errors.console_no_client')

/** How a client proves itself at the token endpoint, in words. */
const authentication = (words: Translator, client: Client): string =>
  usesPrivateKeyJwt(client)
    ? words.t('console.client.auth_private_key_jwt', { method: 'private_key_jwt' })
    : isPublicClient(client)
      ? words.t('console.client.auth_public')
      : words.t('console.client.auth_secret')

const REFUSALS: Record<ClientRefusal, string> = {
  document_settings: 'console.client.refusal.document_settings',
  operator_apis: 'console.client.refusal.operator_apis',
  operator_introspection: 'console.client.refusal.operator_introspection',
  document_links: 'console.client.refusal.document_links',
  document_secret: 'console.client.refusal.document_secret',
  key_authentication: 'console.client.refusal.key_authentication',
  public_secret: 'console.client.refusal.public_secret',
  secret_changed: 'console.client.refusal.secret_changed',
}

/** The registration rules' reasons in the page's words (their English is the CLI's and the admin API's). */
const METADATA_PROBLEMS: Record<ClientMetadataReason, string> = {
  page_link_not_https: 'console.client.problem.page_link_not_https',
  name_required: 'console.client.problem.name_required',
  grant_type_unknown: 'console.client.problem.grant_type_unknown',
  grant_types_empty: 'console.client.problem.grant_types_empty',
  redirect_uri_needed: 'console.client.problem.redirect_uri_needed',
  public_client_credentials: 'console.client.problem.public_client_credentials',
  public_token_exchange: 'console.client.problem.public_token_exchange',
  pkce_value: 'console.client.problem.pkce_value',
  pkce_public_optional: 'console.client.problem.pkce_public_optional',
  introspect_public: 'console.client.problem.introspect_public',
  scope_invalid: 'console.client.problem.scope_invalid',
  admin_scope_self_registered: 'console.client.problem.admin_scope_self_registered',
  logout_session_without_uri: 'console.client.problem.logout_session_without_uri',
  api_unknown: 'console.client.problem.api_unknown',
  secret_overlap_range: 'console.client.problem.secret_overlap_range',
  uri_too_long: 'console.client.problem.uri_too_long',
  uri_control_characters: 'console.client.problem.uri_control_characters',
  uri_wildcard: 'console.client.problem.uri_wildcard',
  uri_fragment: 'console.client.problem.uri_fragment',
  uri_not_absolute: 'console.client.problem.uri_not_absolute',
  uri_scheme_forbidden: 'console.client.problem.uri_scheme_forbidden',
  uri_credentials: 'console.client.problem.uri_credentials',
  uri_not_canonical: 'console.client.problem.uri_not_canonical',
  uri_no_host: 'console.client.problem.uri_no_host',
  uri_http_not_loopback: 'console.client.problem.uri_http_not_loopback',
  uri_scheme_not_allowed: 'console.client.problem.uri_scheme_not_allowed',
  logout_uri_not_absolute: 'console.client.problem.logout_uri_not_absolute',
  logout_uri_loopback: 'console.client.problem.logout_uri_loopback',
  logout_uri_not_https_local: 'console.client.problem.logout_uri_not_https_local',
  logout_uri_not_https: 'console.client.problem.logout_uri_not_https',
}

const REGISTRATIONS = {
  cli: 'console.client.registration_cli',
  dynamic: 'console.client.registration_dynamic',
  metadata_document: 'console.client.registration_metadata_document',
} as const

/** Can an operator give this client a new secret (clients/lifecycle.ts rotateClientSecret says the same)? */
const hasSecret = (client: Client): boolean =>
  client.registration !== 'metadata_document' && !isPublicClient(client) && !usesPrivateKeyJwt(client)

export const clientPages: FastifyPluginAsyncTypebox<{ deps: Deps; views: Views }> = async (app, { deps, views }) => {
  /** The client, or the 404 page. */
  async function load(id: string) {
    try {
      return await getClient(deps, id)
    } catch (error) {
      throw error instanceof UnknownClient ? NOT_FOUND : error
    }
  }

  // The service's reason (clients/lifecycle.ts, shared with the CLI and the admin API), in the page's words.
  const refused = (reply: FastifyReply, words: Translator, client: Client, error: ClientChangeRefused) =>
    sendConsoleMessage(
      views,
      reply,
      words,
      {
        title: words.t('console.client.refused_title'),
        section: 'clients',
        message: words.t(REFUSALS[error.reason], { client: client.name }),
        back: { href: clientHref(client.id), label: words.t('console.client.back') },
      },
      409,
    )

  app.get('/admin/clients', { schema: { querystring: NoticeQuery }, config: { page: true } }, async (request, reply) => {
    const words = consoleWords(deps, request)
    const clients = await listClients(deps)
    return sendConsolePage(views, reply, words, 'admin-clients', {
      title: words.t('console.clients.title'),
      section: 'clients',
      notice: noticeText(words, request.query.notice),
      clients: clients.map((client) => ({
        name: client.name,
        id: client.id,
        href: clientHref(client.id),
        authentication: authentication(words, client),
        registration: words.t(REGISTRATIONS[client.registration]),
        grantTypes: client.grantTypes,
      })),
    })
  })

  /** One client's page; after a refused change, with the problem and the values as typed. */
  function sendClientPage(
    reply: FastifyReply,
    words: Translator,
    { client, apis }: ClientDetails,
    extra: { notice: string | null; error?: string; form?: SettingsInput },
    status = 200,
  ) {
    const now = deps.clock.now()
    const previous = client.previousSecret !== null && client.previousSecret.expiresAt > now ? client.previousSecret.expiresAt : null
    const links = pageLinksOf(client)
    const typed = extra.form
    const required = (on: boolean) => words.t(on ? 'console.client.value_required' : 'console.client.value_optional')
    return sendConsolePage(
      views,
      reply,
      words,
      'admin-client',
      {
        title: client.name,
        section: 'clients',
        notice: extra.notice,
        error: extra.error ?? null,
        client: {
          name: client.name,
          id: client.id,
          authentication: authentication(words, client),
          registered: words.t('console.client.registered_on', {
            registration: words.t(REGISTRATIONS[client.registration]),
            date: words.dateTime(client.createdAt),
          }),
          firstParty: client.firstParty,
          redirectUris: client.redirectUris,
          postLogoutRedirectUris: client.postLogoutRedirectUris,
          grantTypes: client.grantTypes,
          scopes: client.scopes,
          apis,
          policies: [
            { name: words.t('console.client.policy_pkce'), value: required(client.pkceRequired) },
            {
              name: words.t('console.client.policy_consent'),
              value: words.t(client.firstParty ? 'console.client.value_first_party' : 'console.client.value_third_party'),
            },
            {
              name: words.t('console.client.policy_mfa'),
              value: words.t(client.requireMfa ? 'console.client.value_required' : 'console.client.value_not_required'),
            },
            { name: words.t('console.client.policy_dpop'), value: required(client.requireDpop) },
            { name: words.t('console.client.policy_par'), value: required(client.requirePar) },
            {
              name: words.t('console.client.policy_introspects'),
              value:
                [...(client.introspect ? [words.t('console.client.policy_introspects_unnamed')] : []), ...client.introspectApis].join(
                  ', ',
                ) || words.t('console.client.value_no'),
            },
            {
              name: words.t('console.client.policy_backchannel'),
              value: client.backchannelLogoutUri ?? words.t('console.client.value_none'),
            },
          ],
          previousSecretUntil:
            previous === null
              ? null
              : words.t('console.client.previous_secret_until', {
                  date: words.dateTime(previous),
                  duration: inWords(words, previous - now),
                }),
        },
        settings: {
          action: `${clientHref(client.id)}/settings`,
          listsEditable: client.registration !== 'metadata_document',
          name: typed?.name ?? client.name,
          redirectUris: typed?.redirect_uris ?? client.redirectUris.join('\n'),
          postLogoutRedirectUris: typed?.post_logout_redirect_uris ?? client.postLogoutRedirectUris.join('\n'),
          scopes: typed?.scopes ?? client.scopes.join(' '),
          requireMfa: typed ? typed.require_mfa === 'on' : client.requireMfa,
          requireDpop: typed ? typed.require_dpop === 'on' : client.requireDpop,
          requirePar: typed ? typed.require_par === 'on' : client.requirePar,
          backchannelLogoutUri: typed?.backchannel_logout_uri ?? client.backchannelLogoutUri ?? '',
          logoUri: typed?.logo_uri ?? links.logo_uri ?? '',
          clientUri: typed?.client_uri ?? links.client_uri ?? '',
          policyUri: typed?.policy_uri ?? links.policy_uri ?? '',
          tosUri: typed?.tos_uri ?? links.tos_uri ?? '',
        },
        canRotate: hasSecret(client),
        overlaps: overlapChoices(words),
        defaultOverlap: DEFAULT_OVERLAP,
        rotateAction: `${clientHref(client.id)}/secret`,
        deleteHref: `${clientHref(client.id)}/delete`,
        csrfToken: reply.formToken(),
      },
      status,
    )
  }

  app.get(
    '/admin/clients/:id',
    { schema: { params: IdParams, querystring: NoticeQuery }, config: { page: true } },
    async (request, reply) => {
      const words = consoleWords(deps, request)
      return sendClientPage(reply, words, await load(request.params.id), { notice: noticeText(words, request.query.notice) })
    },
  )

  app.post(
    '/admin/clients/:id/settings',
    { schema: { params: IdParams, body: SettingsForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) => {
      const words = consoleWords(deps, request)
      const details = await load(request.params.id)
      try {
        await updateClient(deps, details.client.id, changesFrom(details.client, request.body), adminOf(request).actor)
      } catch (error) {
        if (error instanceof ClientChangeRefused) return refused(reply, words, details.client, error)
        if (error instanceof UnknownClient) throw NOT_FOUND
        if (error instanceof InvalidClientMetadata) {
          // The field and the rule's reason in the page's words, with the values the rule named.
          const labelKey = FIELD_LABELS[error.field]
          const field = labelKey === undefined ? error.field : words.t(labelKey)
          const reason = words.t(METADATA_PROBLEMS[error.reason], error.params)
          const problem =
            error.value === undefined
              ? words.t('console.client.invalid', { field, problem: reason })
              : words.t('console.client.invalid_value', { field, problem: reason, value: error.value })
          return sendClientPage(reply, words, details, { notice: null, error: problem, form: request.body }, 422)
        }
        throw error
      }
      return withNotice(reply, clientHref(details.client.id), 'client-updated')
    },
  )

  app.post(
    '/admin/clients/:id/secret',
    { schema: { params: IdParams, body: RotateForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) => {
      const words = consoleWords(deps, request)
      const { client } = await load(request.params.id)
      try {
        const rotation = await rotateClientSecret(deps, client.id, { overlapSeconds: Number(request.body.overlap) }, adminOf(request).actor)
        const until = rotation.previousSecretExpiresAt
        // The answer to this post is the only place the secret ever appears (no-store, never logged).
        return sendConsolePage(views, reply, words, 'admin-secret', {
          title: words.t('console.secret.title'),
          section: 'clients',
          clientName: client.name,
          clientId: client.id,
          secret: rotation.secret,
          previous:
            until === null
              ? words.t('console.secret.previous_stopped')
              : words.t('console.secret.previous_until', {
                  date: words.dateTime(until),
                  duration: inWords(words, until - deps.clock.now()),
                }),
          backHref: clientHref(client.id),
        })
      } catch (error) {
        if (error instanceof ClientChangeRefused) return refused(reply, words, client, error)
        if (error instanceof UnknownClient) throw NOT_FOUND
        throw error
      }
    },
  )

  app.get('/admin/clients/:id/delete', { schema: { params: IdParams }, config: { page: true } }, async (request, reply) => {
    const words = consoleWords(deps, request)
    const { client } = await load(request.params.id)
    return sendConfirmation(views, reply, words, {
      title: words.t('console.client.delete_title', { name: client.name }),
      section: 'clients',
      message: words.t('console.client.delete_message', { name: client.name, id: client.id }),
      action: `${clientHref(client.id)}/delete`,
      button: words.t('console.client.delete_button'),
      cancelHref: clientHref(client.id),
    })
  })

  app.post(
    '/admin/clients/:id/delete',
    { schema: { params: IdParams, body: ConfirmedForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) => {
      try {
        await deleteClient(deps, request.params.id, adminOf(request).actor)
      } catch (error) {
        throw error instanceof UnknownClient ? NOT_FOUND : error
      }
      return withNotice(reply, '/admin/clients', 'client-deleted')
    },
  )
}
