import type { Db } from '../connect.js'
import { compileOnce } from '../compile-once.js'
import { toClient } from './clients.js'
import type { Client } from '../../model/client.js'

export interface ClientAuthenticationLookup {
  readonly client: Client | undefined
  /** The latest block among the throttle keys (epoch seconds), or null when none was ever set. */
  readonly blockedUntil: number | null
}

/**
 * What authenticating a client at the token, revocation and introspection endpoints reads: the
 * client and whether its throttle keys are blocked, in one statement — these endpoints take the
 * most requests, and each statement costs a lock round on SQLite or a round trip on PostgreSQL.
 */
export function clientAuthenticationRepository(db: Db) {
  // The aggregate always yields one row, so the left join returns the block even for an unknown
  // client_id. Two throttle keys: per client and per IP (http/client-authentication.ts).
  const lookup = compileOnce(db, ['clientKey', 'ipKey', 'clientId'], (db, args: { clientKey: string; ipKey: string; clientId: string }) =>
    db
      .selectFrom((eb) =>
        eb
          .selectFrom('throttle_counters')
          .select((agg) => agg.fn.max('blocked_until').as('until'))
          .where('key', 'in', [args.clientKey, args.ipKey])
          .as('block'),
      )
      .leftJoin('clients', (join) => join.on('clients.id', '=', args.clientId))
      .selectAll('clients')
      .select('block.until'),
  )
  return {
    async find(clientId: string, [clientKey, ipKey]: readonly [string, string]): Promise<ClientAuthenticationLookup> {
      const row = (await lookup({ clientKey, ipKey, clientId })).rows[0]
      if (!row) throw new Error('client lookup returned no row')
      const { until, ...client } = row
      return {
        client: client.id === null ? undefined : toClient(client as Parameters<typeof toClient>[0]),
        blockedUntil: until == null ? null : Number(until),
      }
    },
  }
}
