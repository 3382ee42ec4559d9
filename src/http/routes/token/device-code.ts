/**
 * urn:ietf:params:oauth:grant-type:device_code (RFC 8628 §3.4, §3.5): the device polls until the
 * user answers. Pending polls record when they came (slow_down when sooner than the interval);
 * an approved request is consumed once, atomically, into a grant like an authorization code's;
 * a consumed device code presented again is refused and revokes what it issued (RFC 9700 §4.5).
 */
import type { Deps } from '../../../deps.js'
import { OAuthError } from '../../../errors/oauth-error.js'
import { decidePoll, pendingError, POLL_INTERVAL } from '../../../oauth/grants/device-code.js'
import { single, type RawParams } from '../../../oauth/params.js'
import { hasScope } from '../../../oauth/scope.js'
import { parseResources, tokenResource } from '../../../oauth/resource.js'
import { hashSecret, randomId } from '../../../secrets.js'
import { issueNewGrantTokens } from '../../../tokens/grant-tokens.js'
import { firstRefreshToken } from '../../../tokens/refresh.js'
import type { Grant } from '../../../model/grant.js'
import { isPublicClient, type Client } from '../../../model/client.js'
import type { DeviceApproval, StoredDeviceAuthorization } from '../../../model/device-authorization.js'
import type { GrantHandler, GrantResponse, TokenRequestContext } from './index.js'

/** Concurrent polls of one pending request: re-read and decide again this often before slow_down. */
const POLL_ATTEMPTS = 3

export const redeemDeviceCode: GrantHandler = async (deps, client, params, context) => {
  const rawCode = single(params, 'device_code')
  if (rawCode === undefined) throw new OAuthError('invalid_request', 'device_code is missing')
  const deviceCodeHash = hashSecret(rawCode)
  let interval = POLL_INTERVAL
  for (let attempt = 0; attempt < POLL_ATTEMPTS; attempt++) {
    const now = deps.clock.now()
    const decision = decidePoll(await deps.repos.deviceCodes.findByDeviceCode(deviceCodeHash), client, now)
    if (decision.outcome === 'replayed') return replayed(deps, decision.grantId, client.id)
    if (decision.outcome === 'issue') return issue(deps, client, params, context, decision.authorization, decision.approval)
    // Compare-and-set on what was read: another poll in between means this one came too soon.
    if (await deps.repos.deviceCodes.recordPoll(decision.authorization, decision.interval, now)) throw pendingError(decision)
    interval = decision.interval
  }
  throw pendingError({ outcome: 'slow_down', interval })
}

async function issue(
  deps: Deps,
  client: Client,
  params: RawParams,
  context: TokenRequestContext,
  authorization: StoredDeviceAuthorization,
  approval: DeviceApproval,
): Promise<GrantResponse> {
  const now = deps.clock.now()
  // Refresh tokens only for offline_access, and only to clients registered for the grant.
  const offline = hasScope(authorization.scope, 'offline_access') && client.grantTypes.includes('refresh_token')
  // Checked before anything is consumed: a bad resource leaves the approval redeemable.
  const resource = tokenResource(authorization.resources, parseResources(params['resource']))
  const grant: Grant = {
    id: randomId(),
    userId: approval.userId,
    clientId: client.id,
    sessionIdHash: approval.sessionIdHash,
    scope: authorization.scope,
    authTime: approval.authTime,
    createdAt: now,
    revokedAt: null,
    offline,
    expiresAt: offline ? now + deps.config.refreshTokenTtl : null,
    amr: approval.amr,
    resources: authorization.resources,
    // RFC 9449 §5: a public client's refresh tokens are bound to the key it proved here.
    dpopJkt: isPublicClient(client) ? context.dpopJkt : null,
  }
  const refreshToken = firstRefreshToken(deps, grant)
  const redemption = await deps.repos.deviceCodes.redeem(authorization.deviceCodeHash, grant, refreshToken?.family ?? null, now)
  if (redemption.outcome === 'replayed') return replayed(deps, redemption.grantId, client.id)
  if (redemption.outcome === 'session_ended')
    throw new OAuthError('invalid_grant', 'the sign-in session that approved this device has ended; start again')
  deps.log.info({ event: 'device_code_redeemed', clientId: client.id, userId: grant.userId }, 'device code redeemed')
  return issueNewGrantTokens(deps, {
    grant,
    resource,
    nonce: null,
    dpopJkt: context.dpopJkt,
    sid: redemption.sid,
    refreshToken: refreshToken?.token ?? null,
  })
}

async function replayed(deps: Deps, grantId: string | null, clientId: string): Promise<never> {
  if (grantId !== null) await deps.repos.grants.revoke(grantId, deps.clock.now())
  await deps.audit.record(
    'code_reuse',
    { clientId, detail: { kind: 'device_code', grantId } },
    'device code replayed: its grant is revoked',
  )
  throw new OAuthError('invalid_grant', 'the device code has already been used')
}
