/**
 * The relying-party side of the code flow with openid-client v6: PKCE S256, state and nonce,
 * Tessera's login page driven over real HTTP, then the code exchanged for tokens.
 */
import * as client from 'openid-client'
import { FetchCookieJar, signInOverHttp } from './http-client.js'

export interface CodeFlowResult {
  readonly tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>
  readonly callbackUrl: URL
  readonly authorizationUrl: URL
  readonly state: string
  readonly nonce: string
  readonly verifier: string
  readonly sawLoginForm: boolean
}

/** Discovery against an http issuer on loopback (openid-client refuses http unless told). */
export function discover(
  issuer: string,
  clientId: string,
  clientSecret: string | undefined,
  auth: client.ClientAuth,
): Promise<client.Configuration> {
  return client.discovery(new URL(issuer), clientId, clientSecret, auth, { execute: [client.allowInsecureRequests], timeout: 10 })
}

/** Up to the authorization response: returns the callback URL and the values needed to redeem it. */
export async function authorizeOverHttp(
  config: client.Configuration,
  options: { redirectUri: string; scope?: string; jar?: FetchCookieJar; credentials?: { email: string; password: string } },
): Promise<Omit<CodeFlowResult, 'tokens'>> {
  const verifier = client.randomPKCECodeVerifier()
  const state = client.randomState()
  const nonce = client.randomNonce()
  const authorizationUrl = client.buildAuthorizationUrl(config, {
    redirect_uri: options.redirectUri,
    scope: options.scope ?? 'openid email profile',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  })
  const { callbackUrl, sawLoginForm } = await signInOverHttp(authorizationUrl, options.jar ?? new FetchCookieJar(), options.credentials)
  return { callbackUrl, authorizationUrl, state, nonce, verifier, sawLoginForm }
}

/** The whole flow: authorize, sign in, redeem the code with every check openid-client offers. */
export async function runCodeFlow(
  config: client.Configuration,
  options: { redirectUri: string; scope?: string; jar?: FetchCookieJar; credentials?: { email: string; password: string } },
): Promise<CodeFlowResult> {
  const flow = await authorizeOverHttp(config, options)
  const tokens = await client.authorizationCodeGrant(config, flow.callbackUrl, {
    pkceCodeVerifier: flow.verifier,
    expectedState: flow.state,
    expectedNonce: flow.nonce,
    idTokenExpected: true,
  })
  return { ...flow, tokens }
}
