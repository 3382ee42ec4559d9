/** Messages between the server and its signing threads (signing-threads.ts, signing-thread.ts). */
import type { KeyObject } from 'node:crypto'

/**
 * Keys a thread keeps, oldest dropped first; the server mirrors the order, so it sends a key again
 * rather than naming one the thread has dropped. Two are in use at most (during a rotation).
 */
export const KEPT_KEYS = 4

/** A private key, sent once per thread before the first signature with it; `handle` names it after. */
export interface SigningKeyMessage {
  readonly op: 'key'
  readonly handle: number
  readonly kid: string
  readonly alg: string
  readonly key: KeyObject
}

export interface SignMessage {
  readonly op: 'sign'
  readonly id: number
  readonly handle: number
  readonly typ: string
  readonly payload: Record<string, unknown>
}

/** An access token, then an ID token with its at_hash (tokens/sign.ts signAccessAndIdToken). */
export interface SignPairMessage {
  readonly op: 'sign-pair'
  readonly id: number
  readonly handle: number
  readonly accessClaims: Record<string, unknown>
  readonly idClaims: Record<string, unknown>
}

export type SigningRequest = SigningKeyMessage | SignMessage | SignPairMessage

export type SigningReply =
  | { readonly id: number; readonly token: string }
  | { readonly id: number; readonly accessToken: string; readonly idToken: string }
  | { readonly id: number; readonly error: string }
