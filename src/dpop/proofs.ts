/**
 * Verifying DPoP proofs (RFC 9449 §4.3): the signature with the key in the proof's own header
 * (jose), the claims against the request (oauth/dpop.ts), the server nonce when DPOP_NONCE=on,
 * and the jti once per key across every instance (the dpop_proofs table).
 */
import { errors as joseErrors, jwtVerify } from 'jose'
import type { Config } from '../config/config.js'
import type { Clock } from '../clock.js'
import { OAuthError } from '../errors/oauth-error.js'
import { checkProofClaims, DPOP_ALGORITHMS, DPOP_PROOF_MAX_AGE, DpopNonces } from '../oauth/dpop.js'
import type { Repositories } from '../db/repositories.js'
import { hashSecret } from '../secrets.js'
import { ProofKeys, type ProofKey } from './proof-keys.js'

export interface ProofRequest {
  /** The DPoP header(s) as received. */
  readonly header: string | readonly string[] | undefined
  readonly method: string
  /** The endpoint's URL as the issuer names it (never from the Host header). */
  readonly url: string
  /** At a resource endpoint: the access token the proof must name (ath). */
  readonly accessToken?: string
  /** 401 challenges at resource endpoints, plain 400s at the token endpoint. */
  readonly status: 400 | 401
}

export interface DpopVerifier {
  /** The key thumbprint (RFC 7638) of a valid proof; null without a DPoP header; OAuthError otherwise. */
  verify(request: ProofRequest): Promise<string | null>
  /** The nonce to send in DPoP-Nonce, or undefined when nonces are off. */
  nonce(): string | undefined
}

export function createDpopVerifier(deps: { config: Config; clock: Clock; repos: Repositories }, nonceKey: Buffer): DpopVerifier {
  const nonces = deps.config.dpopNonce === 'on' ? new DpopNonces(nonceKey) : null
  const nonce = () => nonces?.issue(deps.clock.now())
  const proofKeys = new ProofKeys()

  return {
    nonce,
    async verify(request) {
      if (request.header === undefined) return null
      const fail = (error: 'invalid_dpop_proof' | 'use_dpop_nonce', description: string) =>
        new OAuthError(error, description, { status: request.status, challenge: 'DPoP', dpopNonce: nonce() })
      // §4.3 step 1: exactly one proof.
      if (typeof request.header !== 'string' || request.header.includes(','))
        throw fail('invalid_dpop_proof', 'send exactly one DPoP header')
      const now = deps.clock.now()
      let proofKey: ProofKey | undefined
      let payload: Record<string, unknown>
      try {
        // §4.3 steps 2–8: a JWT typed dpop+jwt, asymmetric alg, a public jwk that verifies it.
        const verified = await jwtVerify(
          request.header,
          async (header, token) => {
            proofKey = await proofKeys.resolve(header, token)
            return proofKey.key
          },
          { typ: 'dpop+jwt', algorithms: [...DPOP_ALGORITHMS], currentDate: new Date(now * 1000) },
        )
        payload = verified.payload as Record<string, unknown>
      } catch (error) {
        if (error instanceof joseErrors.JOSEError || error instanceof TypeError)
          throw fail('invalid_dpop_proof', `the DPoP proof is not valid: ${(error as Error).message}`)
        throw error
      }
      let claims: { jti: string; iat: number }
      try {
        claims = checkProofClaims(payload, {
          method: request.method,
          url: request.url,
          now,
          skew: deps.config.clockSkew,
          ...(request.accessToken !== undefined ? { accessToken: request.accessToken } : {}),
        })
      } catch (error) {
        if (error instanceof OAuthError) throw fail('invalid_dpop_proof', error.description)
        throw error
      }
      // §8: with nonces on, a proof without a current nonce is answered with one to use.
      if (nonces !== null && !nonces.isValid(payload['nonce'], now))
        throw fail('use_dpop_nonce', 'the DPoP proof must carry the server nonce')
      // jose resolved the key before verifying: set whenever verification succeeded.
      const { jkt } = proofKey!
      const expiresAt = claims.iat + DPOP_PROOF_MAX_AGE + 2 * deps.config.clockSkew
      if (!(await deps.repos.dpopProofs.use(hashSecret(`${jkt}\n${claims.jti}`), expiresAt)))
        throw fail('invalid_dpop_proof', 'the DPoP proof was used before')
      return jkt
    },
  }
}
