/** Claims of the tokens and userinfo responses (OIDC Core §2, §5.4; RFC 9068 §2.2). Pure functions. */
import { createHash } from 'node:crypto'
import type { JWTPayload } from 'jose'
import { hasScope } from './scope.js'
import { acrOf, satisfiesAcr, type Acr } from './acr.js'
import type { AuthenticationMethod } from '../model/authentication.js'

export interface Subject {
  readonly id: string
  readonly email: string
  readonly emailVerified: boolean
  readonly name: string | null
  readonly roles: readonly string[]
}

export interface IdTokenInput {
  readonly issuer: string
  readonly clientId: string
  readonly user: Subject
  readonly scope: string
  readonly authTime: number
  readonly nonce: string | null
  readonly now: number
  readonly ttl: number
  readonly sessionId?: string
  /** How the user authenticated (RFC 8176); `acr` follows from it (oauth/acr.ts). */
  readonly amr: readonly AuthenticationMethod[]
  /** The acr the authorization answered with (acr.ts acrForRequest); absent or null: what `amr` achieves. */
  readonly acr?: Acr | null
}

/**
 * The `acr` claim: the value chosen when the code was issued (a requested one the session met,
 * OIDC Core §5.5.1.1), but never a class stronger than `amr` shows; otherwise what `amr` achieves.
 */
export function acrClaimOf(amr: readonly AuthenticationMethod[], chosen: Acr | null | undefined): Acr {
  const achieved = acrOf(amr)
  return chosen != null && satisfiesAcr(achieved, chosen) ? chosen : achieved
}

/**
 * The ID token's claims but `at_hash`, which needs the signed access token: whatever signs the two
 * adds it (withAccessTokenHash), so that one trip to a signing thread signs both.
 */
export function idTokenClaims(input: IdTokenInput): JWTPayload {
  return {
    iss: input.issuer,
    sub: input.user.id,
    aud: input.clientId,
    azp: input.clientId,
    iat: input.now,
    exp: input.now + input.ttl,
    auth_time: input.authTime,
    amr: [...input.amr],
    acr: acrClaimOf(input.amr, input.acr),
    ...(input.nonce !== null ? { nonce: input.nonce } : {}),
    ...(input.sessionId !== undefined ? { sid: input.sessionId } : {}),
    ...scopedClaims(input.user, input.scope),
  }
}

/** OIDC Core §3.1.3.6: left-most half of the SHA-256 of the access token, base64url. */
export function accessTokenHash(accessToken: string): string {
  const digest = createHash('sha256').update(accessToken, 'ascii').digest()
  return digest.subarray(0, digest.length / 2).toString('base64url')
}

/** An ID token's claims bound to the access token issued with it (`at_hash`, OIDC Core §3.1.3.6). */
export function withAccessTokenHash(idClaims: Readonly<Record<string, unknown>>, accessToken: string): Record<string, unknown> {
  return { ...idClaims, at_hash: accessTokenHash(accessToken) }
}

export interface AccessTokenInput {
  readonly issuer: string
  readonly audience: string
  readonly clientId: string
  /** The user's id, or the client_id for client_credentials. */
  readonly subject: string
  readonly scope: string
  readonly jti: string
  readonly authTime: number | null
  readonly now: number
  readonly ttl: number
  /** The user's roles (RFC 9068 §2.2.3.1), for resource-server RBAC; absent for client tokens. */
  readonly roles?: readonly string[]
  /** RFC 9068 §2.2.1: how the user authenticated, so an API can demand more (RFC 9470); absent for client tokens. */
  readonly amr?: readonly AuthenticationMethod[]
  /** The acr the authorization answered with, as in the ID token; absent or null: what `amr` achieves. */
  readonly acr?: Acr | null
  /** RFC 9449 §6.1: the DPoP key's JWK thumbprint, binding the token to it (`cnf.jkt`). */
  readonly dpopJkt?: string | null
  /** RFC 8693 §4.1: who acts for the subject (delegation); nested for a chain of actors. */
  readonly act?: ActorClaim
}

/** RFC 8693 §4.1 `act`: the acting party, and whoever acted before it. */
export interface ActorClaim {
  readonly sub: string
  readonly act?: ActorClaim
}

export function accessTokenClaims(input: AccessTokenInput): JWTPayload {
  return {
    iss: input.issuer,
    sub: input.subject,
    aud: input.audience,
    client_id: input.clientId,
    scope: input.scope,
    jti: input.jti,
    iat: input.now,
    exp: input.now + input.ttl,
    ...(input.authTime !== null ? { auth_time: input.authTime } : {}),
    ...(input.roles !== undefined ? { roles: [...input.roles] } : {}),
    ...(input.amr !== undefined ? { amr: [...input.amr], acr: acrClaimOf(input.amr, input.acr) } : {}),
    ...(input.act !== undefined ? { act: input.act } : {}),
    ...(input.dpopJkt ? { cnf: { jkt: input.dpopJkt } } : {}),
  }
}

/** Userinfo and ID token claims by granted scope only. `sub` is the stable user id, never the email. */
export function scopedClaims(user: Subject, scope: string): Record<string, unknown> {
  return {
    ...(hasScope(scope, 'profile') ? { name: user.name ?? undefined } : {}),
    ...(hasScope(scope, 'email') ? { email: user.email, email_verified: user.emailVerified } : {}),
    ...(hasScope(scope, 'roles') ? { roles: [...user.roles] } : {}),
  }
}

export function userinfoClaims(user: Subject, scope: string): Record<string, unknown> {
  return JSON.parse(JSON.stringify({ sub: user.id, ...scopedClaims(user, scope) })) as Record<string, unknown>
}

export const SUPPORTED_CLAIMS = [
  'sub',
  'iss',
  'aud',
  'azp',
  'exp',
  'iat',
  'auth_time',
  'amr',
  'acr',
  'nonce',
  'at_hash',
  'sid',
  'name',
  'email',
  'email_verified',
  'roles',
] as const
