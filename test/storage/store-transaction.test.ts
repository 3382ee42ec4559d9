/**
 * store.transaction(): the writes of the repositories it hands out commit together or not at all,
 * and a repository method with a transaction of its own joins it (behind a savepoint). SQLite
 * always; PostgreSQL when TEST_DATABASE_URL is set.
 */
import t from 'tap'
import { parseDatabaseUrl } from '../../src/config/urls.js'
import { openStore, type Store } from '../../src/db/store.js'
import type { NewUser } from '../../src/model/user.js'
import { availableDatabases } from '../helpers/databases.js'

const user = (id: string): NewUser => ({
  id,
  email: `${id}@example.com`,
  name: null,
  passwordHash: 'not-a-hash',
  emailVerified: true,
  disabledAt: null,
  createdAt: 1_700_000_000,
})

for (const { name, create } of availableDatabases()) {
  t.test(name, async (t) => {
    const database = await create()
    const store: Store = await openStore(parseDatabaseUrl(database.url))
    t.teardown(async () => {
      await store.close()
      await database.drop()
    })

    t.test('commits what the work wrote when it returns, and returns its result', async (t) => {
      const result = await store.transaction(async (repos) => {
        await repos.users.insert(user('committed'))
        await repos.recoveryCodes.replace('committed', ['code-a', 'code-b'], 1_700_000_000)
        return 'done'
      })
      t.equal(result, 'done')
      t.ok(await store.repos.users.findById('committed'))
      t.equal(await store.repos.recoveryCodes.countUnused('committed'), 2)
    })

    t.test('rolls everything back when the work throws, and rethrows', async (t) => {
      await t.rejects(
        store.transaction(async (repos) => {
          await repos.users.insert(user('rolled-back'))
          // recoveryCodes.replace opens a transaction of its own: it joins this one.
          await repos.recoveryCodes.replace('rolled-back', ['code-c'], 1_700_000_000)
          t.ok(await repos.users.findById('rolled-back'), 'visible inside the transaction')
          throw new Error('refused by the test')
        }),
        { message: 'refused by the test' },
      )
      t.equal(await store.repos.users.findById('rolled-back'), undefined)
      t.equal(await store.repos.recoveryCodes.countUnused('rolled-back'), 0)
    })

    t.test('a failed nested repository transaction undoes only its own writes', async (t) => {
      await store.transaction(async (repos) => {
        await repos.users.insert(user('outer'))
        await repos.recoveryCodes.replace('outer', ['code-d'], 1_700_000_000)
        // No such user: the insert breaks the foreign key after the delete ran; both are undone.
        await t.rejects(repos.recoveryCodes.replace('nobody', ['code-e'], 1_700_000_000))
        // PostgreSQL would refuse this statement if the failure had aborted the transaction.
        await repos.users.insert(user('after'))
      })
      t.ok(await store.repos.users.findById('outer'))
      t.ok(await store.repos.users.findById('after'))
      t.equal(await store.repos.recoveryCodes.countUnused('outer'), 1)
      t.equal(await store.repos.recoveryCodes.countUnused('nobody'), 0)
    })
  })
}
