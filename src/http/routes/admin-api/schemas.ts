/**
 * What every admin API route declares besides its own input and output: the scope it needs (one
 * declaration feeds both the access check and the OpenAPI `security`), its problem responses, and
 * the document's words (operationId, tags, summary). Shared schemas of several resources live here.
 */
import { Type, type TSchema } from '@sinclair/typebox'
import { PROBLEM_CONTENT_TYPE } from '../../../errors/problem.js'
import type { AdminScope } from '../../../oauth/admin-api.js'
import { NextCursor } from './pagination.js'

/** The OpenAPI security scheme's name. */
export const SECURITY_SCHEME = 'oauth2'

export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'urn:tessera:problem:<kind>' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    errors: Type.Optional(
      Type.Array(
        Type.Object({
          detail: Type.String(),
          pointer: Type.Optional(Type.String({ description: 'JSON Pointer (RFC 6901) into the body, as a URI fragment' })),
          parameter: Type.Optional(Type.String({ description: 'A query, path or header parameter' })),
        }),
      ),
    ),
  },
  { additionalProperties: true, description: 'RFC 9457 problem details' },
)

const PROBLEM_DESCRIPTIONS: Readonly<Record<number, string>> = {
  400: 'The request does not match the schema (`errors` lists each member), or a cursor is not valid',
  401: 'No access token, or not a valid one for the admin API (`WWW-Authenticate: Bearer error="invalid_token"`)',
  403: 'The access token lacks the scope (`WWW-Authenticate: Bearer error="insufficient_scope"`)',
  404: 'No such resource',
  409: 'The request conflicts with the current state (or a request with the same Idempotency-Key is still running)',
  422: 'A value is not acceptable (`errors` names it), or the Idempotency-Key was used for another request',
}

const problemResponse = (status: number) => ({
  description: PROBLEM_DESCRIPTIONS[status] ?? 'A problem',
  content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema } },
})

const SUCCESS: Readonly<Record<number, string>> = { 200: 'OK', 201: 'Created', 204: 'No Content' }

/** The document names every answer: a success schema without a description gets its status text (a copy; schemas are shared). */
const described = (status: number, schema: TSchema): TSchema =>
  schema.description !== undefined ? schema : { ...schema, description: SUCCESS[status] ?? 'OK' }

export interface RouteDocument {
  readonly operationId: string
  readonly summary: string
  readonly tags: readonly string[]
  readonly description?: string
  /** Problem statuses besides 400, 401 and 403, which every route may answer. */
  readonly problems?: readonly (404 | 409 | 422)[]
}

interface RouteSchemas {
  readonly params?: TSchema
  readonly querystring?: TSchema
  readonly body?: TSchema
  readonly headers?: TSchema
  readonly response: Readonly<Record<number, TSchema>>
}

/**
 * A route's options: the scope it needs (`config.adminScope`, checked by the scope's hook) and its
 * schema with the OpenAPI members. The problem responses are added to the schema for the document
 * and the serializer; the types see only the route's own responses.
 */
export function adminRoute<const S extends RouteSchemas>(scope: AdminScope, document: RouteDocument, schemas: S) {
  const problems = [400, 401, 403, ...(document.problems ?? [])]
  return {
    config: { adminScope: scope },
    schema: {
      ...schemas,
      operationId: document.operationId,
      summary: document.summary,
      tags: [...document.tags],
      ...(document.description !== undefined ? { description: document.description } : {}),
      security: [{ [SECURITY_SCHEME]: [scope] }],
      response: {
        ...Object.fromEntries(Object.entries(schemas.response).map(([status, schema]) => [status, described(Number(status), schema)])),
        ...Object.fromEntries(problems.map((status) => [status, problemResponse(status)])),
      } as S['response'],
    },
  }
}

/** A list's answer: one page of items and the cursor of the next. */
export const PageOf = <T extends TSchema>(item: T, description: string) =>
  Type.Object({ items: Type.Array(item), next_cursor: NextCursor }, { description })

/** 204 No Content. */
export const NoContent = Type.Null({ description: 'Done; no body' })

export const Timestamp = (description: string) => Type.String({ format: 'date-time', description })
export const NullableTimestamp = (description: string) => Type.Union([Timestamp(description), Type.Null()])

/** Epoch seconds (storage) → RFC 3339 (the API). */
export const iso = (seconds: number): string => new Date(seconds * 1000).toISOString()
export const isoOrNull = (seconds: number | null): string | null => (seconds === null ? null : iso(seconds))
