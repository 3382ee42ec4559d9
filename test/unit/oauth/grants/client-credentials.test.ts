/**
 * client_credentials as pure rules: only operator-registered clients may use it (a self-described
 * client has no user to consent for it), and for an API the client's registration narrows the
 * scopes it may ask for.
 */
import t from 'tap'
import { checkClientCredentialsAllowed, clientCredentialsScope } from '../../../../src/oauth/grants/client-credentials.js'
import type { Client } from '../../../../src/model/client.js'
import { oauthError } from '../../fixtures/index.js'

const client = (scopes: string[]): Client => ({ registration: 'cli', scopes }) as unknown as Client
const PHOTOS = ['photos:read', 'photos:write']

t.test('checkClientCredentialsAllowed: operator clients only', async (t) => {
  t.doesNotThrow(() => checkClientCredentialsAllowed({ registration: 'cli' }))
  for (const registration of ['dynamic', 'metadata_document'] as const)
    t.throws(() => checkClientCredentialsAllowed({ registration }), oauthError('unauthorized_client'), registration)
})

t.test('clientCredentialsScope for an API: the scopes the client registration names, or all of them', async (t) => {
  t.equal(clientCredentialsScope(client(['reports']), undefined, PHOTOS), 'photos:read photos:write', '--api alone: all')
  t.equal(clientCredentialsScope(client(['reports', 'photos:read']), undefined, PHOTOS), 'photos:read', 'narrowed: none asked')
  t.equal(clientCredentialsScope(client(['photos:read']), 'photos:read', PHOTOS), 'photos:read')
  t.throws(() => clientCredentialsScope(client(['photos:read']), 'photos:write', PHOTOS), oauthError('invalid_scope'), 'not its scope')
  t.throws(
    () => clientCredentialsScope(client(['reports']), 'reports', PHOTOS),
    oauthError('invalid_scope'),
    'its own scope is not the API’s',
  )
  t.equal(clientCredentialsScope(client(['reports', 'photos:read']), undefined), 'reports photos:read', 'without an API: its own scopes')
})
