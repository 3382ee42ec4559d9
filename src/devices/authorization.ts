/**
 * Device authorization (RFC 8628): starting a request for a device, and the user's answer at the
 * verification page. Both codes are random; only their hashes are stored.
 */
import type { Deps } from '../deps.js'
import { requestedApis } from '../apis/resources.js'
import { consentItems } from '../oauth/consent.js'
import { deviceAuthorizationScope, formatUserCode, generateUserCode, POLL_INTERVAL } from '../oauth/grants/device-code.js'
import { single, type RawParams } from '../oauth/params.js'
import { hashSecret, randomToken } from '../secrets.js'
import type { Client } from '../model/client.js'
import type { LoginSession } from '../model/session.js'
import type { StoredDeviceAuthorization } from '../model/device-authorization.js'

/** The verification page people are sent to (RFC 8628 §3.2 verification_uri). */
export const VERIFICATION_PATH = '/device'

/** RFC 8628 §3.2 device authorization response. */
export interface DeviceAuthorizationResponse {
  readonly device_code: string
  readonly user_code: string
  readonly verification_uri: string
  readonly verification_uri_complete: string
  readonly expires_in: number
  readonly interval: number
}

/** Tries for a user code not in use; with 2^34 codes a second try is already rare. */
const USER_CODE_ATTEMPTS = 5

/** RFC 8628 §3.1–3.2: validates the request of an authenticated client and stores it. */
export async function startDeviceAuthorization(deps: Deps, client: Client, params: RawParams): Promise<DeviceAuthorizationResponse> {
  const apis = await requestedApis(deps, client, params['resource'])
  const scope = deviceAuthorizationScope(single(params, 'scope'), client, apis)
  const now = deps.clock.now()
  const deviceCode = randomToken()
  for (let attempt = 0; attempt < USER_CODE_ATTEMPTS; attempt++) {
    const userCode = generateUserCode()
    const stored = await deps.repos.deviceCodes.insert({
      deviceCodeHash: hashSecret(deviceCode),
      userCodeHash: hashSecret(userCode),
      clientId: client.id,
      scope,
      resources: apis.map((api) => api.identifier),
      createdAt: now,
      expiresAt: now + deps.config.deviceCodeTtl,
      interval: POLL_INTERVAL,
    })
    if (!stored) continue
    deps.log.info({ event: 'device_authorization_started', clientId: client.id }, 'device authorization started')
    const verificationUri = `${deps.config.issuer}${VERIFICATION_PATH}`
    const shown = formatUserCode(userCode)
    return {
      device_code: deviceCode,
      user_code: shown,
      verification_uri: verificationUri,
      verification_uri_complete: `${verificationUri}?${new URLSearchParams({ user_code: shown }).toString()}`,
      expires_in: deps.config.deviceCodeTtl,
      interval: POLL_INTERVAL,
    }
  }
  throw new Error('no free user code after several attempts')
}

/**
 * The user's answer. Approval binds the request to the user and the session (its auth_time and
 * amr go into the tokens) and, for a third-party client, remembers the consent as /consent does.
 * False when the request was answered meanwhile (another tab) or expired.
 */
export async function answerDeviceAuthorization(
  deps: Deps,
  answer: {
    readonly authorization: StoredDeviceAuthorization
    readonly client: Client
    readonly session: LoginSession
    readonly approve: boolean
    readonly ip: string
  },
): Promise<boolean> {
  const { authorization, client, session, approve, ip } = answer
  const now = deps.clock.now()
  const approval = approve ? { userId: session.userId, sessionIdHash: session.idHash, authTime: session.authTime, amr: session.amr } : null
  if (!(await deps.repos.deviceCodes.decide(authorization.userCodeHash, approval, now))) return false
  if (approve && !client.firstParty)
    await deps.repos.consents.grant(session.userId, client.id, consentItems(authorization.scope, authorization.resources), now)
  await deps.audit.record(
    approve ? 'device_approved' : 'device_denied',
    { userId: session.userId, clientId: client.id, ip, detail: { scope: authorization.scope } },
    approve ? 'device authorization approved' : 'device authorization denied',
  )
  return true
}
