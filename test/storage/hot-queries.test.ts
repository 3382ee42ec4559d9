/**
 * The token endpoint's database shortcuts, on every store: access-token rows group-committed
 * (each caller waits for its own row; a failed batch fails its callers), the client and its
 * throttle block read in one compiled statement, compiled queries reused with new parameters.
 */
import t from 'tap'
import { connectDatabase } from '../../src/db/connect.js'
import { migrateToLatest } from '../../src/db/migrate.js'
import { compileOnce } from '../../src/db/compile-once.js'
import { createWriteBatch } from '../../src/db/write-batch.js'
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

    t.test('access tokens: concurrent inserts each resolve once their row is stored', async (t) => {
      const tokens = Array.from({ length: 150 }, (_, i) => ({
        jti: `jti-${name}-${i}`,
        grantId: null,
        clientId: 'svc',
        kid: 'k1',
        expiresAt: 2_000_000_000,
      }))
      await Promise.all(tokens.map((token) => repos.accessTokens.insert(token)))
      const live = await Promise.all(tokens.map((token) => repos.accessTokens.isLive(token.jti, 1_000)))
      t.ok(live.every(Boolean), 'all 150 rows (more than one batch) are stored and live')
      t.equal(await repos.accessTokens.isLive('never-issued', 1_000), false, 'an unknown jti is not live')
      await repos.accessTokens.revoke(tokens[0]!.jti, 1_000)
      t.equal(await repos.accessTokens.isLive(tokens[0]!.jti, 1_000), false, 'the compiled liveness query sees a revocation')
      t.equal(await repos.accessTokens.isLive(tokens[1]!.jti, 2_000_000_001), false, 'and expiry')
      const duplicate = repos.accessTokens.insert(tokens[1]!)
      const sameBatch = repos.accessTokens.insert({ ...tokens[1]!, jti: `jti-${name}-other` })
      await t.rejects(duplicate, 'a batch that cannot be stored fails its callers')
      await t.rejects(sameBatch, 'every caller of that batch, none is told its row exists')
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

t.test('createWriteBatch: rows of one turn share one write, at most maxRows each', async (t) => {
  const writes: number[][] = []
  const batch = createWriteBatch<number>(async (rows) => void writes.push([...rows]), 4)
  await Promise.all([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => batch.add(n)))
  t.same(
    writes,
    [
      [1, 2, 3, 4],
      [5, 6, 7, 8],
      [9, 10],
    ],
    'ten rows of one turn: three writes of at most four, in order',
  )
  await batch.add(11)
  t.same(writes.at(-1), [11], 'a later turn starts a new batch')
  t.throws(() => createWriteBatch(async () => {}, 0), TypeError, 'maxRows must be positive')
})
