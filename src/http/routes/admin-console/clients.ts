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
  deleteClient,
  getClient,
  listClients,
  rotateClientSecret,
  UnknownClient,
  updateClient,
  type ClientChanges,
  type ClientDetails,
} from '../../../clients/lifecycle.js'
import { InvalidClientMetadata, pageLinksOf } from '../../../clients/registration.js'
import type { Deps } from '../../../deps.js'
import { PageError } from '../../../errors/oauth-error.js'
import { isPublicClient, usesPrivateKeyJwt, type Client } from '../../../model/client.js'
import type { Views } from '../../views/render.js'
import {
  adminOf,
  clientHref,
  ConfirmedForm,
  csrfFields,
  IdParams,
  inWords,
  noticeText,
  NoticeQuery,
  sendConfirmation,
  sendConsoleMessage,
  sendConsolePage,
  when,
  withNotice,
} from './support.js'

/** How long the old secret keeps working after a rotation: the choices the form offers (seconds). */
const OVERLAPS = [
  { value: '0', label: 'Stop the old secret now' },
  { value: '3600', label: 'Keep the old secret for 1 hour' },
  { value: '86400', label: 'Keep the old secret for 1 day' },
  { value: '604800', label: 'Keep the old secret for 7 days' },
] as const
const DEFAULT_OVERLAP = '86400'
const RotateForm = Type.Object({
  overlap: Type.Union(OVERLAPS.map((choice) => Type.Literal(choice.value))),
  ...csrfFields,
})

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

/** What each field of the form is called on the page (for the error naming it). */
const FIELD_LABELS: Readonly<Record<string, string>> = {
  name: 'Name',
  redirect_uris: 'Redirect URIs',
  post_logout_redirect_uris: 'After-logout URIs',
  scopes: 'Scopes',
  backchannel_logout_uri: 'Back-channel logout URI',
  backchannel_logout_session_required: 'Back-channel logout URI',
  grant_types: 'Redirect URIs',
  logo_uri: 'Logo URL',
  client_uri: 'Home page',
  policy_uri: 'Privacy policy',
  tos_uri: 'Terms of service',
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
const authentication = (client: Client): string =>
  usesPrivateKeyJwt(client)
    ? 'Confidential (private_key_jwt)'
    : isPublicClient(client)
      ? 'Public (no secret)'
      : 'Confidential (client secret)'

const REGISTRATIONS = {
  cli: 'By an operator',
  dynamic: 'Dynamic registration (RFC 7591)',
  metadata_document: 'Client ID metadata document',
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

  const refused = (reply: FastifyReply, client: Client, error: ClientChangeRefused) =>
    sendConsoleMessage(
      views,
      reply,
      {
        title: 'Not possible for this client',
        section: 'clients',
        message: `${client.name}: ${error.problem}.`,
        back: { href: clientHref(client.id), label: 'Back to the client' },
      },
      409,
    )

  app.get('/admin/clients', { schema: { querystring: NoticeQuery }, config: { page: true } }, async (request, reply) => {
    const clients = await listClients(deps)
    return sendConsolePage(views, reply, 'admin-clients', {
      title: 'Clients',
      section: 'clients',
      notice: noticeText(request.query.notice),
      clients: clients.map((client) => ({
        name: client.name,
        id: client.id,
        href: clientHref(client.id),
        authentication: authentication(client),
        registration: REGISTRATIONS[client.registration],
        grantTypes: client.grantTypes,
      })),
    })
  })

  /** One client's page; after a refused change, with the problem and the values as typed. */
  function sendClientPage(
    reply: FastifyReply,
    { client, apis }: ClientDetails,
    extra: { notice: string | null; error?: string; form?: SettingsInput },
    status = 200,
  ) {
    const now = deps.clock.now()
    const previous = client.previousSecret !== null && client.previousSecret.expiresAt > now ? client.previousSecret.expiresAt : null
    const links = pageLinksOf(client)
    const typed = extra.form
    return sendConsolePage(
      views,
      reply,
      'admin-client',
      {
        title: client.name,
        section: 'clients',
        notice: extra.notice,
        error: extra.error ?? null,
        client: {
          name: client.name,
          id: client.id,
          authentication: authentication(client),
          registration: REGISTRATIONS[client.registration],
          created: when(client.createdAt),
          firstParty: client.firstParty,
          redirectUris: client.redirectUris,
          postLogoutRedirectUris: client.postLogoutRedirectUris,
          grantTypes: client.grantTypes,
          scopes: client.scopes,
          apis,
          policies: [
            { name: 'PKCE', value: client.pkceRequired ? 'required' : 'optional' },
            { name: 'Consent screen', value: client.firstParty ? 'no (first-party)' : 'yes (third-party)' },
            { name: 'Second factor for every sign-in', value: client.requireMfa ? 'required' : 'not required' },
            { name: 'DPoP-bound tokens', value: client.requireDpop ? 'required' : 'optional' },
            { name: 'Pushed authorization requests', value: client.requirePar ? 'required' : 'optional' },
            {
              name: 'Introspects other clients’ tokens',
              value: [...(client.introspect ? ['those asked for without resource'] : []), ...client.introspectApis].join(', ') || 'no',
            },
            { name: 'Back-channel logout', value: client.backchannelLogoutUri ?? 'none' },
          ],
          previousSecretUntil: previous === null ? null : `${when(previous)} (in ${inWords(previous - now)})`,
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
        overlaps: OVERLAPS,
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
    async (request, reply) => sendClientPage(reply, await load(request.params.id), { notice: noticeText(request.query.notice) }),
  )

  app.post(
    '/admin/clients/:id/settings',
    { schema: { params: IdParams, body: SettingsForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) => {
      const details = await load(request.params.id)
      try {
        await updateClient(deps, details.client.id, changesFrom(details.client, request.body), adminOf(request).actor)
      } catch (error) {
        if (error instanceof ClientChangeRefused) return refused(reply, details.client, error)
        if (error instanceof UnknownClient) throw NOT_FOUND
        if (error instanceof InvalidClientMetadata) {
          const label = FIELD_LABELS[error.field] ?? error.field
          const problem = `${label}: ${error.problem}${error.value === undefined ? '' : ` (${error.value})`}. Nothing was changed.`
          return sendClientPage(reply, details, { notice: null, error: problem, form: request.body }, 422)
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
      const { client } = await load(request.params.id)
      try {
        const rotation = await rotateClientSecret(deps, client.id, { overlapSeconds: Number(request.body.overlap) }, adminOf(request).actor)
        const until = rotation.previousSecretExpiresAt
        // The answer to this post is the only place the secret ever appears (no-store, never logged).
        return sendConsolePage(views, reply, 'admin-secret', {
          title: 'New client secret',
          section: 'clients',
          clientName: client.name,
          clientId: client.id,
          secret: rotation.secret,
          previous:
            until === null
              ? 'The previous secret stopped working now.'
              : `The previous secret keeps working until ${when(until)} (${inWords(until - deps.clock.now())} from now).`,
          backHref: clientHref(client.id),
        })
      } catch (error) {
        if (error instanceof ClientChangeRefused) return refused(reply, client, error)
        if (error instanceof UnknownClient) throw NOT_FOUND
        throw error
      }
    },
  )

  app.get('/admin/clients/:id/delete', { schema: { params: IdParams }, config: { page: true } }, async (request, reply) => {
    const { client } = await load(request.params.id)
    return sendConfirmation(views, reply, {
      title: `Delete ${client.name}?`,
      section: 'clients',
      message: `The client ${client.name} (${client.id}) will be deleted with everything it was given: its tokens stop working and users' consents for it go. This cannot be undone.`,
      action: `${clientHref(client.id)}/delete`,
      button: 'Delete the client',
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
