/**
 * The token endpoint's database shortcuts, on every store: access tokens checked without a row of
 * their own (one compiled statement: their grant or client, and the short list of tokens revoked
 * alone), the client and its throttle block read in one compiled statement, compiled queries
 * reused with new parameters.
 */
import t from 'tap'
import { connectDatabase } from '../../src/db/connect.js'
import { migrateToLatest } from '../../src/db/migrate.js'
import { compileOnce } from '../../src/db/compile-once.js'
import { accessTokenId } from '../../src/model/access-token-id.js'
import { parseDatabaseUrl } from '../../src/config/urls.js'
import { createRepositories } from '../../src/db/repositories.js'
import { availableDatabases } from '../helpers/databases.js'

const POLICY = { windowSeconds: 900, maxFailures: 1, baseBlockSeconds: 60 }

for (const { name, create } of availableDatabases()) {
  t.test(`${name}: hot-path queries`, async (t) => {
    const database = await create()
    const db = connectDatabase(parseDatabaseUrl(database.url))
    t.teardown(async () => {
      await db.destroy()
      await database.drop()
    })
    await migrateToLatest(db)
    const repos = createRepositories(db)
    await repos.clients.insert({
      id: 'svc',
      name: 'Service',
      secretHash: 'hash',
      previousSecret: null,
      redirectUris: [],
      postLogoutRedirectUris: [],
      grantTypes: ['client_credentials'],
      scopes: ['api:read'],
      pkceRequired: true,
      firstParty: false,
      introspect: false,
      introspectApis: [],
      requireMfa: false,
      requireDpop: false,
      requirePar: false,
      backchannelLogoutUri: null,
      backchannelLogoutSessionRequired: false,
      registration: 'cli',
      metadata: {},
      refreshAt: null,
      createdAt: 1,
    })

    t.test('access tokens: live without a row of their own, dead with their grant or client, or revoked alone', async (t) => {
      await repos.users.insert({
        id: 'user-1',
        email: `user-${name}@example.com`,
        name: null,
        passwordHash: 'hash',
        emailVerified: true,
        disabledAt: null,
        createdAt: 1,
      })
      await repos.grants.insert({
        id: `grant-${name}`,
        userId: 'user-1',
        clientId: 'svc',
        sessionIdHash: null,
        scope: 'openid',
        authTime: 1,
        createdAt: 1,
        revokedAt: null,
        offline: false,
        expiresAt: null,
        amr: ['pwd'],
        resources: [],
        dpopJkt: null,
      })
      const token = (jti: string, clientId = 'svc') => ({ jti, clientId, expiresAt: 2_000_000_000 })
      const ofGrant = token(accessTokenId(`grant-${name}`, 'r1'))
      const ofClient = token(accessTokenId(null, 'r2'))
      t.same(await repos.accessTokens.findLive(ofGrant, 1_000), { grantId: `grant-${name}` }, 'a grant’s token is live while its grant is')
      t.same(await repos.accessTokens.findLive(ofClient, 1_000), { grantId: null }, 'a client’s token while its client exists')
      t.equal(await repos.accessTokens.isLive(token(accessTokenId('no-such-grant', 'r3')), 1_000), false, 'no grant: dead')
      t.equal(await repos.accessTokens.isLive(token(accessTokenId(null, 'r4'), 'gone'), 1_000), false, 'no client: dead')
      t.equal(await repos.accessTokens.isLive(token('never-issued'), 1_000), false, 'an unknown earlier-format jti is not live')

      await repos.accessTokens.revoke(ofClient, 1_000)
      await repos.accessTokens.revoke(ofClient, 1_001)
      t.equal(await repos.accessTokens.isLive(ofClient, 1_000), false, 'revoked on its own (twice is the same)')
      t.equal(await repos.accessTokens.isLive(token(accessTokenId(null, 'r5')), 1_000), true, 'the client’s other tokens live on')
      await repos.accessTokens.revoke(ofGrant, 1_000)
      t.equal(await repos.accessTokens.isLive(ofGrant, 1_000), false, 'a grant’s token revoked on its own')
      const sibling = token(accessTokenId(`grant-${name}`, 'r6'))
      t.equal(await repos.accessTokens.isLive(sibling, 1_000), true, 'its grant’s other tokens live on')
      await repos.grants.revoke(`grant-${name}`, 1_000)
      t.equal(await repos.accessTokens.isLive(sibling, 1_000), false, 'and die with the grant')

      // A token issued before this format: its row decides.
      await db
        .insertInto('access_tokens')
        .values({ jti: `legacy-${name}`, grant_id: null, client_id: 'svc', kid: 'k1', expires_at: 2_000_000_000, revoked_at: null })
        .execute()
      t.equal(await repos.accessTokens.isLive(token(`legacy-${name}`), 1_000), true, 'an earlier token with its row is live')
      t.equal(await repos.accessTokens.isLive(token(`legacy-${name}`), 2_000_000_001), false, 'until its row expires')
      await repos.accessTokens.revoke(token(`legacy-${name}`), 1_000)
      t.equal(await repos.accessTokens.isLive(token(`legacy-${name}`), 1_000), false, 'and revoking it marks its row')
    })

    t.test('client authentication lookup: client and block in one statement', async (t) => {
      t.same(
        await repos.clientAuthentication
          .find('svc', ['client-auth:svc', 'client-auth-ip:198.51.100.7'])
          .then((r) => [r.client?.id, r.blockedUntil]),
        ['svc', null],
        'known client, nothing blocked',
      )
      t.same(
        await repos.clientAuthentication
          .find('nobody', ['client-auth:nobody', 'client-auth-ip:198.51.100.7'])
          .then((r) => [r.client, r.blockedUntil]),
        [undefined, null],
        'unknown client',
      )
      await repos.throttleCounters.recordFailure('client-auth-ip:198.51.100.7', 1_000, POLICY)
      await repos.throttleCounters.recordFailure('client-auth-ip:198.51.100.7', 1_000, POLICY)
      const blocked = await repos.clientAuthentication.find('nobody', ['client-auth:nobody', 'client-auth-ip:198.51.100.7'])
      t.equal(blocked.client, undefined, 'still unknown')
      t.ok(blocked.blockedUntil !== null && blocked.blockedUntil > 1_000, 'but the block on the IP key is returned')
      const other = await repos.clientAuthentication.find('svc', ['client-auth:svc', 'client-auth-ip:203.0.113.9'])
      t.equal(other.blockedUntil, null, 'another IP is not blocked')
    })
  })
}

t.test('compileOnce refuses a query whose parameters are not all named arguments', async (t) => {
  const db = connectDatabase({ dialect: 'sqlite', file: ':memory:' })
  t.teardown(() => db.destroy())
  await migrateToLatest(db)
  const query = compileOnce(db, ['id'], (db, args: { id: string }) =>
    db.selectFrom('users').selectAll().where('id', '=', args.id).where('email', '=', 'fixed@example.com'),
  )
  t.throws(() => query({ id: 'x' }), TypeError, 'a literal baked into the compiled query is refused')
})
