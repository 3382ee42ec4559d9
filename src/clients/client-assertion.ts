/**
 * private_key_jwt (RFC 7523 §2.2, §3; OIDC Core §9): the client signs a short JWT with its own
 * key; we verify it with the public keys it registered (inline `jwks` or its `jwks_uri`, fetched
 * with the same SSRF guards as metadata documents and cached for five minutes). Each assertion is
 * accepted once (its jti is remembered until it expires).
 */
import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JSONWebKeySet } from 'jose'
import { LruMap } from '../lru-map.js'
import type { Deps } from '../deps.js'
import type { Client } from '../model/client.js'
import { CLIENT_ASSERTION_ALGORITHMS } from '../oauth/client-auth.js'
import { ENDPOINT_PATHS } from '../oauth/discovery.js'
import { hashSecret } from '../secrets.js'
import { DocumentUnavailable, fetchJsonDocument, type DocumentFetchPolicy } from './document-fetch.js'

/** An assertion may live at most this long (seconds): a stolen one is useless soon after. */
const MAX_ASSERTION_LIFETIME = 300
const JWKS_CACHE_MS = 5 * 60_000
/** A key missing from a cached set is looked for again, at most this often (the client rotated). */
const JWKS_REFETCH_MS = 30_000
const JWKS_MAX_BYTES = 64 * 1024
/** Distinct key sets kept imported: one per client using private_key_jwt, with room to spare. */
const KEPT_KEY_SETS = 1_000

export interface ClientAssertionVerifier {
  /** Null when the assertion is good (and now used); otherwise why not, for the log. */
  verify(client: Client, assertion: string): Promise<string | null>
}

type VerifierDeps = Pick<Deps, 'config' | 'clock' | 'repos'>

export function createClientAssertionVerifier(deps: VerifierDeps, policy: DocumentFetchPolicy): ClientAssertionVerifier {
  const remoteSets = new Map<string, { keys: JSONWebKeySet; fetchedAt: number }>()
  // jose imports each key of a local set once, when first used; a set made per assertion imported
  // the client's key on every request (about half the cost of checking an assertion). Kept by
  // the set's exact JSON, so a client that changes its keys gets a new set at once.
  const localSets = new LruMap<string, ReturnType<typeof createLocalJWKSet>>(KEPT_KEY_SETS)
  function localSet(keys: JSONWebKeySet): ReturnType<typeof createLocalJWKSet> {
    const name = JSON.stringify(keys)
    let set = localSets.get(name)
    if (set === undefined) {
      set = createLocalJWKSet(keys)
      localSets.set(name, set)
    }
    return set
  }
  const { issuer } = deps.config
  // RFC 7523 §3 (3): the audience identifies us; the issuer and the endpoints that take assertions.
  const audiences = [
    issuer,
    `${issuer}${ENDPOINT_PATHS.token}`,
    `${issuer}${ENDPOINT_PATHS.revocation}`,
    `${issuer}${ENDPOINT_PATHS.introspection}`,
  ]

  async function remoteKeys(uri: string, refresh: boolean): Promise<JSONWebKeySet> {
    const cached = remoteSets.get(uri)
    const age = cached ? Date.now() - cached.fetchedAt : Infinity
    if (cached && age < (refresh ? JWKS_REFETCH_MS : JWKS_CACHE_MS)) return cached.keys
    const document = await fetchJsonDocument(uri, { ...policy, maxBytes: JWKS_MAX_BYTES })
    const keys = document.body as JSONWebKeySet
    if (typeof keys !== 'object' || keys === null || !Array.isArray(keys.keys)) throw new DocumentUnavailable('jwks_uri is not a JWK Set')
    remoteSets.set(uri, { keys, fetchedAt: Date.now() })
    return keys
  }

  async function check(client: Client, assertion: string, keys: JSONWebKeySet): Promise<string | null> {
    const now = deps.clock.now()
    const { payload } = await jwtVerify(assertion, localSet(keys), {
      algorithms: [...CLIENT_ASSERTION_ALGORITHMS],
      issuer: client.id,
      subject: client.id,
      audience: audiences,
      clockTolerance: deps.config.clockSkew,
      currentDate: new Date(now * 1000),
      requiredClaims: ['exp', 'jti'],
    })
    if (payload.exp! > now + MAX_ASSERTION_LIFETIME + deps.config.clockSkew) return 'the assertion lives longer than 5 minutes'
    if (typeof payload.jti !== 'string' || payload.jti === '' || payload.jti.length > 200) return 'the assertion has no usable jti'
    if (!(await deps.repos.clientAssertions.use(hashSecret(`${client.id}\n${payload.jti}`), payload.exp! + deps.config.clockSkew)))
      return 'the assertion was used before'
    return null
  }

  return {
    async verify(client, assertion) {
      const inline = client.metadata['jwks'] as JSONWebKeySet | undefined
      const uri = client.metadata['jwks_uri'] as string | undefined
      try {
        if (inline !== undefined) return await check(client, assertion, inline)
        if (uri === undefined) return 'the client registered no keys'
        try {
          return await check(client, assertion, await remoteKeys(uri, false))
        } catch (error) {
          // The client may have rotated to a key our cached copy does not have yet.
          if (!(error instanceof joseErrors.JWKSNoMatchingKey)) throw error
          return await check(client, assertion, await remoteKeys(uri, true))
        }
      } catch (error) {
        if (error instanceof DocumentUnavailable) return `jwks_uri: ${error.problem}`
        if (error instanceof joseErrors.JOSEError) return error.code
        throw error
      }
    },
  }
}
