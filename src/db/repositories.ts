/** Every repository over one kysely instance (the store's, or a transaction's). */
import type { Db } from './connect.js'
import { accessTokensRepository } from './repositories/access-tokens.js'
import { accountTokensRepository } from './repositories/account-tokens.js'
import { auditEventsRepository } from './repositories/audit-events.js'
import { clientAuthenticationRepository } from './repositories/client-authentication.js'
import { clientsRepository } from './repositories/clients.js'
import { codesRepository } from './repositories/codes.js'
import { consentsRepository } from './repositories/consents.js'
import { grantsRepository } from './repositories/grants.js'
import { interactionsRepository } from './repositories/interactions.js'
import { refreshTokensRepository } from './repositories/refresh-tokens.js'
import { sessionsRepository } from './repositories/sessions.js'
import { signingKeysRepository } from './repositories/signing-keys.js'
import { throttleCountersRepository } from './repositories/throttle-counters.js'
import { usersRepository } from './repositories/users.js'
import { passkeysRepository } from './repositories/passkeys.js'
import { totpRepository } from './repositories/totp.js'
import { recoveryCodesRepository } from './repositories/recovery-codes.js'
import { webauthnChallengesRepository } from './repositories/webauthn-challenges.js'
import { pendingLoginsRepository } from './repositories/pending-logins.js'
import { apisRepository } from './repositories/apis.js'
import { registrationTokensRepository } from './repositories/registration-tokens.js'
import { clientAssertionsRepository, dpopProofsRepository } from './repositories/client-assertions.js'
import { pushedRequestsRepository } from './repositories/pushed-requests.js'
import { deviceCodesRepository } from './repositories/device-codes.js'
import { outboxRepository } from './repositories/outbox.js'
import { connectionsRepository } from './repositories/connections.js'
import { federatedIdentitiesRepository } from './repositories/federated-identities.js'
import { upstreamLoginsRepository } from './repositories/upstream-logins.js'
import { webhooksRepository } from './repositories/webhooks.js'
import { accountDataRepository } from './repositories/account-data.js'
import { transferRepository } from './repositories/transfer.js'
import { idempotencyKeysRepository } from './repositories/idempotency-keys.js'
import { clientLogosRepository } from './repositories/client-logos.js'

export function createRepositories(db: Db) {
  return {
    clients: clientsRepository(db),
    clientAuthentication: clientAuthenticationRepository(db),
    users: usersRepository(db),
    sessions: sessionsRepository(db),
    interactions: interactionsRepository(db),
    codes: codesRepository(db),
    grants: grantsRepository(db),
    accessTokens: accessTokensRepository(db),
    refreshTokens: refreshTokensRepository(db),
    consents: consentsRepository(db),
    signingKeys: signingKeysRepository(db),
    accountTokens: accountTokensRepository(db),
    auditEvents: auditEventsRepository(db),
    throttleCounters: throttleCountersRepository(db),
    passkeys: passkeysRepository(db),
    totp: totpRepository(db),
    recoveryCodes: recoveryCodesRepository(db),
    webauthnChallenges: webauthnChallengesRepository(db),
    pendingLogins: pendingLoginsRepository(db),
    apis: apisRepository(db),
    registrationTokens: registrationTokensRepository(db),
    clientAssertions: clientAssertionsRepository(db),
    dpopProofs: dpopProofsRepository(db),
    pushedRequests: pushedRequestsRepository(db),
    deviceCodes: deviceCodesRepository(db),
    outbox: outboxRepository(db),
    connections: connectionsRepository(db),
    federatedIdentities: federatedIdentitiesRepository(db),
    upstreamLogins: upstreamLoginsRepository(db),
    webhooks: webhooksRepository(db),
    accountData: accountDataRepository(db),
    transfer: transferRepository(db),
    idempotencyKeys: idempotencyKeysRepository(db),
    clientLogos: clientLogosRepository(db),
  }
}

export type Repositories = ReturnType<typeof createRepositories>
