/**
 * `Idempotency-Key` on the admin API's creating requests (as in draft-ietf-httpapi-idempotency-key-header):
 * a retry after a lost answer must not create a second client or user. The key is remembered per
 * actor for a day with a hash of the request (method, path, body) and, once the request has
 * succeeded, its answer: the same key with the same request gets that answer again (marked
 * `Idempotent-Replayed: true`); with another request, a 422 problem; while the first is still
 * running, a 409. A failed request forgets its key, so it can be retried with it. The answer is
 * stored sealed under a key derived from the KEK: it may hold a new client's secret.
 */
import { createHash } from 'node:crypto'
import { Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Deps } from '../../../deps.js'
import { Problem } from '../../../errors/problem.js'
import { openEnvelope, sealEnvelope } from '../../../keys/envelope.js'
import { actorLabel, type Actor } from '../../../model/actor.js'

/** How long a key is remembered. */
export const IDEMPOTENCY_TTL = 24 * 3600

/** The header, as the route schemas declare it (visible characters only, at most 255). */
export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      pattern: '^[\\x21-\\x7e]+$',
      description: 'Makes the request safe to retry for 24 hours: the same key and body replay the first answer',
    }),
  ),
})

export interface Answer<T, S extends number> {
  readonly status: S
  readonly body: T
  /** True when this is the remembered answer of an earlier request with the same key. */
  readonly replayed: boolean
}

/** Object members in a fixed order, so that equal bodies hash alike however their members were ordered. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

const requestHash = (request: FastifyRequest): string =>
  createHash('sha256')
    .update(`${request.method} ${request.url.split('?')[0]}\n${canonicalJson(request.body ?? null)}`)
    .digest('base64url')

/**
 * Runs `create` once per idempotency key (or simply runs it when the request has none) and returns
 * its answer, or the remembered one.
 */
export async function idempotent<T, S extends number>(
  deps: Pick<Deps, 'repos' | 'clock' | 'replayKey'>,
  request: FastifyRequest,
  actor: Actor,
  create: () => Promise<{ status: S; body: T }>,
): Promise<Answer<T, S>> {
  const header = request.headers['idempotency-key']
  const key = typeof header === 'string' ? header : undefined
  if (key === undefined) return { ...(await create()), replayed: false }
  const owner = actorLabel(actor)
  const hash = requestHash(request)
  const now = deps.clock.now()
  const sealedWith = `${owner}\n${key}`
  const claimed = await deps.repos.idempotencyKeys.claim({ actor: owner, key, requestHash: hash, now, expiresAt: now + IDEMPOTENCY_TTL })
  if (!claimed) {
    const earlier = await deps.repos.idempotencyKeys.find(owner, key, now)
    if (earlier === undefined)
      // Released or expired between the two statements: the caller may simply retry.
      throw new Problem(409, 'idempotency-key-in-use', 'the key was being used by another request; retry', {
        headers: { 'retry-after': '1' },
      })
    if (earlier.requestHash !== hash)
      throw new Problem(422, 'idempotency-key-reused', 'this Idempotency-Key was used for a different request; use a new key', {
        errors: [{ parameter: 'Idempotency-Key', detail: 'already used for a different request' }],
      })
    if (earlier.status === null || earlier.response === null)
      throw new Problem(409, 'idempotency-key-in-use', 'a request with this Idempotency-Key is still running; retry later', {
        headers: { 'retry-after': '1' },
      })
    const body = JSON.parse(openEnvelope(deps.replayKey, earlier.response, sealedWith).toString('utf8')) as T
    // Stored by this same route (the key is per actor and the hash covers method and path).
    return { status: earlier.status as S, body, replayed: true }
  }
  let answer: { status: S; body: T }
  try {
    answer = await create()
  } catch (error) {
    await deps.repos.idempotencyKeys.release(owner, key)
    throw error
  }
  const sealed = sealEnvelope(deps.replayKey, Buffer.from(JSON.stringify(answer.body), 'utf8'), sealedWith)
  await deps.repos.idempotencyKeys.complete(owner, key, answer.status, sealed)
  return { ...answer, replayed: false }
}

/**
 * Sends a creating request's answer: `Idempotent-Replayed` when it is a remembered one, and the
 * new resource's URL in `Location` (RFC 9110 §15.3.2), `id` being its last path segment.
 */
export function sendCreated<T, S extends number>(
  deps: Pick<Deps, 'config'>,
  request: FastifyRequest,
  reply: FastifyReply,
  answer: Answer<T, S>,
  id: (body: T) => string,
): FastifyReply {
  if (answer.replayed) reply.header('idempotent-replayed', 'true')
  return reply
    .code(answer.status)
    .header('location', `${deps.config.issuer}${request.url.split('?')[0]}/${encodeURIComponent(id(answer.body))}`)
    .send(answer.body)
}
