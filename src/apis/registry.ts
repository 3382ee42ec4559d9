/** Registering APIs (resource servers): the rules every surface applies (the CLI, the admin API). */
import type { ApisRepository } from '../db/repositories/apis.js'
import type { Deps } from '../deps.js'
import { actorLabel, type Actor } from '../model/actor.js'
import type { Api, ApiScope } from '../model/api.js'
import { ADMIN_API_PATH } from '../oauth/admin-api.js'
import { isScopeToken } from '../oauth/scope.js'
import { checkWebUrl } from '../oauth/web-url.js'

/** A registration that cannot be accepted; `field` names what is wrong. */
export class InvalidApi extends Error {
  constructor(
    readonly field: 'identifier' | 'name' | 'scopes' | 'access_token_ttl',
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`)
    this.name = 'InvalidApi'
  }
}

export interface NewApiRequest {
  readonly identifier: string
  readonly name: string
  /** `name` or `name=description` (what the consent screen says). */
  readonly scopes: readonly string[]
  readonly accessTokenTtl: number | null
  readonly firstPartyOnly: boolean
}

const RESERVED = new Set(['openid', 'profile', 'email', 'roles', 'offline_access'])

export function buildApi(input: NewApiRequest, now: number): Api {
  const { problem } = checkWebUrl(input.identifier)
  if (problem === 'not_absolute') throw new InvalidApi('identifier', 'must be an absolute URI, e.g. https://api.example.com')
  // RFC 8707 §2: no fragment; it is compared as a string, so write it the way it will be sent.
  if (input.identifier.includes('#')) throw new InvalidApi('identifier', 'must not contain a fragment')
  if (problem !== null) throw new InvalidApi('identifier', 'must be an https URL (http only for localhost)')
  const name = input.name.trim()
  if (name === '' || name.length > 200) throw new InvalidApi('name', 'is required (at most 200 characters)')
  const scopes: ApiScope[] = []
  for (const entry of input.scopes) {
    const [rawName = '', ...rest] = entry.split('=')
    const scopeName = rawName.trim()
    if (!isScopeToken(scopeName)) throw new InvalidApi('scopes', `"${scopeName}" is not a valid scope name`)
    if (RESERVED.has(scopeName)) throw new InvalidApi('scopes', `"${scopeName}" is an OpenID scope, not an API's`)
    if (scopes.some((scope) => scope.name === scopeName)) continue
    const description = rest.join('=').trim().slice(0, 200)
    scopes.push({ name: scopeName, description: description || `${scopeName} in ${name}` })
  }
  if (input.accessTokenTtl !== null && (input.accessTokenTtl < 1 || input.accessTokenTtl > 3600))
    throw new InvalidApi('access_token_ttl', 'must be between 1 second and 1 hour')
  return {
    identifier: input.identifier,
    name,
    scopes,
    accessTokenTtl: input.accessTokenTtl,
    firstPartyOnly: input.firstPartyOnly,
    createdAt: now,
  }
}

export async function registerApi(apis: ApisRepository, input: NewApiRequest, now: number): Promise<Api> {
  const api = buildApi(input, now)
  if (!(await apis.insert(api))) throw new InvalidApi('identifier', 'an API with this identifier already exists')
  return api
}

/** No API has this identifier. */
export class UnknownApi extends Error {
  readonly code = 'unknown_api'
  constructor(readonly identifier: string) {
    super(`no API with identifier ${identifier}`)
    this.name = 'UnknownApi'
  }
}

type ApiDeps = Pick<Deps, 'repos' | 'config' | 'clock' | 'audit'>

/**
 * Registers an API for an operator (registerApi's rules, and Tessera's own admin API identifier is
 * reserved: it is built in, oauth/admin-api.ts). Audited as api_registered with the actor.
 */
export async function addApi(deps: ApiDeps, input: NewApiRequest, actor: Actor): Promise<Api> {
  const reserved = `${deps.config.issuer}${ADMIN_API_PATH}`
  if (input.identifier === reserved || input.identifier.startsWith(`${reserved}/`))
    throw new InvalidApi('identifier', "is Tessera's own admin API (built in)")
  const api = await registerApi(deps.repos.apis, input, deps.clock.now())
  await deps.audit.record(
    'api_registered',
    { detail: { actor: actorLabel(actor), api: api.identifier, scopes: api.scopes.map((scope) => scope.name) } },
    'API registered',
  )
  return api
}

/** Removes an API (tokens already issued for it stay valid until they expire); audited as api_removed. Throws UnknownApi. */
export async function removeApi(deps: ApiDeps, identifier: string, actor: Actor): Promise<void> {
  if (!(await deps.repos.apis.remove(identifier))) throw new UnknownApi(identifier)
  await deps.audit.record('api_removed', { detail: { actor: actorLabel(actor), api: identifier } }, 'API removed')
}
