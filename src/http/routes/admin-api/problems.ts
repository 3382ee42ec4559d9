/**
 * The services' typed errors as the admin API says them (RFC 9457): the one translation, used by
 * the scope's error handler, so no route maps an error itself. Anything not named here goes on
 * to errors/problem.ts unchanged (OAuth errors, schema failures, the fixed 500).
 */
import { AccountChangeRefused, EmailTaken, InvalidAccountInput, UnknownUser } from '../../../accounts/lifecycle.js'
import { InvalidApi, UnknownApi } from '../../../apis/registry.js'
import { ClientChangeRefused, UnknownClient } from '../../../clients/lifecycle.js'
import { InvalidClientMetadata } from '../../../clients/registration.js'
import { ConnectionProblem, UnknownConnection } from '../../../connections/registry.js'
import { Problem } from '../../../errors/problem.js'
import { KeyPromotionTooEarly, UnknownSigningKey } from '../../../keys/operations.js'
import { UnknownSession } from '../../../sessions/user-sessions.js'
import { WebhookProblem } from '../../../webhooks/registry.js'

/** A value the service refused, pointing at the body member it came from. */
const invalidInput = (member: string, detail: string, error: Error, status = 422) =>
  new Problem(status, status === 409 ? 'conflict' : 'invalid-input', `${member}: ${detail}`, {
    errors: [{ pointer: `#/${member}`, detail }],
    cause: error,
  })

const notFound = (detail: string, error: Error) => new Problem(404, 'not-found', detail, { cause: error })

export function asProblem(error: unknown): unknown {
  if (!(error instanceof Error) || error instanceof Problem) return error
  if (error instanceof InvalidClientMetadata)
    return invalidInput(error.field, error.value === undefined ? error.problem : `${error.problem} (${error.value})`, error)
  if (error instanceof EmailTaken) return invalidInput('email', 'the address belongs to another user', error, 409)
  if (error instanceof InvalidAccountInput) return invalidInput(error.field, error.problem, error)
  if (error instanceof InvalidApi) return invalidInput(error.field, error.problem, error)
  if (error instanceof UnknownClient) return notFound('no client with this client_id', error)
  if (error instanceof UnknownUser) return notFound('no user with this id', error)
  if (error instanceof UnknownApi) return notFound('no API with this identifier', error)
  if (error instanceof UnknownSigningKey) return notFound('no published key with this kid', error)
  if (error instanceof UnknownSession) return notFound('the user has no live session with this id', error)
  if (error instanceof UnknownConnection) return notFound('no connection with this id', error)
  if (error instanceof WebhookProblem)
    return error.code === 'unknown_webhook'
      ? notFound('no webhook with this id', error)
      : invalidInput(error.code === 'invalid_url' ? 'url' : 'events', error.message, error)
  if (error instanceof ClientChangeRefused) return new Problem(409, 'conflict', error.problem, { cause: error })
  if (error instanceof AccountChangeRefused) return new Problem(409, 'conflict', error.problem, { cause: error })
  if (error instanceof ConnectionProblem) return new Problem(422, 'invalid-input', error.message, { cause: error })
  if (error instanceof KeyPromotionTooEarly)
    return new Problem(
      409,
      'too-early',
      `the next key ${error.kid} signs only once every instance has published it: retry in ${error.waitSeconds}s, or rotate with "immediately": true in an emergency`,
      { headers: { 'retry-after': String(error.waitSeconds) }, extensions: { wait_seconds: error.waitSeconds }, cause: error },
    )
  return error
}
