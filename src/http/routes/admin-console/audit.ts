/**
 * The audit log: security events newest first, filtered by type, user and age, a page at a time;
 * "Older events" carries a cursor (the last event's time and id), so a page never repeats or skips
 * an event while new ones arrive. Users and actors are shown by their address where they still exist.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { normaliseEmail } from '../../../accounts/email-address.js'
import type { AuditEvent } from '../../../db/repositories/audit-events.js'
import type { Deps } from '../../../deps.js'
import type { Translator } from '../../../i18n/translator.js'
import type { Views } from '../../views/render.js'
import { clientHref, consoleWords, sendConsolePage, userHref } from './support.js'

const PAGE_SIZE = 50

/** The age filter's choices (seconds); the empty value is "any time". */
const SINCE = { '1h': 3600, '24h': 86400, '7d': 7 * 86400, '30d': 30 * 86400 } as const
const SINCE_CHOICES = [
  { value: '', label: 'console.audit.since_any' },
  { value: '1h', label: 'console.audit.since_1h' },
  { value: '24h', label: 'console.audit.since_24h' },
  { value: '7d', label: 'console.audit.since_7d' },
  { value: '30d', label: 'console.audit.since_30d' },
] as const

const AuditQuery = Type.Object({
  type: Type.Optional(Type.String({ maxLength: 40 })),
  user: Type.Optional(Type.String({ maxLength: 320 })),
  since: Type.Optional(Type.Union([Type.Literal(''), Type.Literal('1h'), Type.Literal('24h'), Type.Literal('7d'), Type.Literal('30d')])),
  /** The cursor: `AT.ID` of the last event on the previous page. */
  after: Type.Optional(Type.String({ maxLength: 80, pattern: '^[0-9]{1,12}\\.[A-Za-z0-9_-]{1,64}$' })),
})

/** Event types are snake_case words; anything else cannot match and is not sent to the database. */
const EVENT_TYPE = /^[a-z][a-z_]{0,39}$/

export interface DescribedEvent {
  /** Epoch seconds (the page writes it with it.dateTime). */
  readonly at: number
  readonly type: string
  readonly user: { readonly label: string; readonly href: string | null } | null
  readonly client: { readonly label: string; readonly href: string } | null
  readonly actor: string | null
  readonly ip: string | null
  readonly detail: readonly { readonly name: string; readonly value: string }[]
}

const text = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value))

/**
 * Events as the pages show them: user ids become addresses (accounts that still exist), the actor
 * (model/actor.ts label) becomes words, the other details `name: value` pairs (their names and
 * values are the event's own identifiers, shown as they are).
 */
export async function describeEvents(
  deps: Pick<Deps, 'repos'>,
  words: Translator,
  events: readonly AuditEvent[],
): Promise<DescribedEvent[]> {
  const actorUser = (event: AuditEvent) => {
    const actor = event.detail['actor']
    return typeof actor === 'string' && actor.startsWith('user:') ? actor.slice('user:'.length) : null
  }
  const ids = new Set(events.flatMap((event) => [event.userId, actorUser(event)].filter((id): id is string => id !== null)))
  const emails = new Map<string, string>()
  await Promise.all(
    [...ids].map(async (id) => {
      const user = await deps.repos.users.findById(id)
      if (user) emails.set(id, user.email)
    }),
  )
  const actorWords = (event: AuditEvent): string | null => {
    const actor = event.detail['actor']
    if (typeof actor !== 'string') return null
    if (actor === 'cli') return words.t('console.events.actor_cli')
    if (actor.startsWith('client:')) return words.t('console.events.actor_client', { client: actor.slice('client:'.length) })
    const id = actorUser(event)
    return id === null ? actor : (emails.get(id) ?? words.t('console.events.actor_user', { id }))
  }
  return events.map((event) => ({
    at: event.at,
    type: event.type,
    user:
      event.userId === null
        ? null
        : { label: emails.get(event.userId) ?? event.userId, href: emails.has(event.userId) ? userHref(event.userId) : null },
    client: event.clientId === null ? null : { label: event.clientId, href: clientHref(event.clientId) },
    actor: actorWords(event),
    ip: event.ip,
    detail: Object.entries(event.detail)
      .filter(([name, value]) => name !== 'actor' && value !== null)
      .map(([name, value]) => ({ name, value: text(value) })),
  }))
}

export const auditPage: FastifyPluginAsyncTypebox<{ deps: Deps; views: Views }> = async (app, { deps, views }) => {
  app.get('/admin/audit', { schema: { querystring: AuditQuery }, config: { page: true } }, async (request, reply) => {
    const type = request.query.type?.trim() ?? ''
    const email = request.query.user?.trim() ?? ''
    const since = request.query.since ?? ''
    const filters = { type, user: email, since }
    const words = consoleWords(deps, request)
    const problems: string[] = []
    if (type !== '' && !EVENT_TYPE.test(type))
      problems.push(words.t('console.audit.bad_type', { example: 'login_failure', other_example: 'key_rotation' }))
    const user = email === '' ? undefined : await deps.repos.users.findByEmail(normaliseEmail(email))
    if (email !== '' && !user) problems.push(words.t('console.audit.no_user'))
    const render = (events: readonly DescribedEvent[], olderHref: string | null) =>
      sendConsolePage(views, reply, words, 'admin-audit', {
        title: words.t('console.audit.title'),
        section: 'audit',
        filters,
        sinceChoices: SINCE_CHOICES.map((choice) => ({ value: choice.value, label: words.t(choice.label) })),
        problems,
        events,
        olderHref,
        newestHref: request.query.after === undefined ? null : `/admin/audit?${new URLSearchParams(filters).toString()}`,
      })
    if (problems.length > 0) return render([], null)

    const [at, id] = request.query.after?.split('.') ?? []
    const events = await deps.repos.auditEvents.list({
      ...(type !== '' ? { type } : {}),
      ...(user ? { userId: user.id } : {}),
      ...(since !== '' ? { since: deps.clock.now() - SINCE[since] } : {}),
      ...(at !== undefined && id !== undefined ? { after: { at: Number(at), id } } : {}),
      limit: PAGE_SIZE + 1,
    })
    const page = events.slice(0, PAGE_SIZE)
    const last = page.at(-1)
    const olderHref =
      events.length > PAGE_SIZE && last
        ? `/admin/audit?${new URLSearchParams({ ...filters, after: `${last.at}.${last.id}` }).toString()}`
        : null
    return render(await describeEvents(deps, words, page), olderHref)
  })
}
