import type { Db } from '../connect.js'
import type { ClientRow } from '../schema.js'
import type { Client, ClientPolicies, ClientRegistration, GrantType } from '../../model/client.js'
import { revokeGrantsIn } from './grants.js'

const REGISTRATIONS: readonly ClientRegistration[] = ['cli', 'dynamic', 'metadata_document']

export function toClient(row: ClientRow): Client {
  return {
    id: row.id,
    name: row.name,
    secretHash: row.secret_hash,
    previousSecret:
      row.previous_secret_hash === null || row.previous_secret_expires_at === null
        ? null
        : { hash: row.previous_secret_hash, expiresAt: Number(row.previous_secret_expires_at) },
    redirectUris: JSON.parse(row.redirect_uris) as string[],
    postLogoutRedirectUris: JSON.parse(row.post_logout_redirect_uris) as string[],
    grantTypes: JSON.parse(row.grant_types) as GrantType[],
    scopes: JSON.parse(row.scopes) as string[],
    pkceRequired: row.pkce_required === 1,
    firstParty: row.first_party === 1,
    introspect: row.introspect === 1,
    introspectApis: JSON.parse(row.introspect_apis) as string[],
    requireMfa: row.require_mfa === 1,
    requireDpop: row.require_dpop === 1,
    requirePar: row.require_par === 1,
    backchannelLogoutUri: row.backchannel_logout_uri,
    backchannelLogoutSessionRequired: row.backchannel_logout_session_required === 1,
    registration: REGISTRATIONS.find((registration) => registration === row.registration) ?? 'cli',
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    refreshAt: row.refresh_at === null ? null : Number(row.refresh_at),
    createdAt: row.created_at,
  }
}

function toRow(client: Client, registrationTokenHash: string | null) {
  return {
    id: client.id,
    name: client.name,
    secret_hash: client.secretHash,
    previous_secret_hash: client.previousSecret?.hash ?? null,
    previous_secret_expires_at: client.previousSecret?.expiresAt ?? null,
    redirect_uris: JSON.stringify(client.redirectUris),
    post_logout_redirect_uris: JSON.stringify(client.postLogoutRedirectUris),
    grant_types: JSON.stringify(client.grantTypes),
    scopes: JSON.stringify(client.scopes),
    pkce_required: client.pkceRequired ? 1 : 0,
    first_party: client.firstParty ? 1 : 0,
    introspect: client.introspect ? 1 : 0,
    introspect_apis: JSON.stringify(client.introspectApis),
    require_mfa: client.requireMfa ? 1 : 0,
    require_dpop: client.requireDpop ? 1 : 0,
    require_par: client.requirePar ? 1 : 0,
    backchannel_logout_uri: client.backchannelLogoutUri,
    backchannel_logout_session_required: client.backchannelLogoutSessionRequired ? 1 : 0,
    registration: client.registration,
    registration_token_hash: registrationTokenHash,
    metadata: JSON.stringify(client.metadata),
    refresh_at: client.refreshAt,
    created_at: client.createdAt,
  }
}

export function clientsRepository(db: Db) {
  return {
    /** `registrationTokenHash`: the RFC 7592 registration access token of a dynamic client. */
    async insert(client: Client, registrationTokenHash: string | null = null): Promise<void> {
      await db.insertInto('clients').values(toRow(client, registrationTokenHash)).execute()
    },

    /** A metadata document fetched (again): the row is the cache; created_at is kept. */
    async saveMetadataDocumentClient(client: Client): Promise<void> {
      const { id: _id, created_at: _created, ...changes } = toRow(client, null)
      await db
        .insertInto('clients')
        .values(toRow(client, null))
        .onConflict((conflict) => conflict.column('id').doUpdateSet(changes))
        .execute()
    },

    /** A dynamic client by id, only with its registration access token's hash (RFC 7592 §3). */
    async findByRegistrationToken(id: string, tokenHash: string): Promise<Client | undefined> {
      const row = await db
        .selectFrom('clients')
        .selectAll()
        .where('id', '=', id)
        .where('registration', '=', 'dynamic')
        .where('registration_token_hash', '=', tokenHash)
        .executeTakeFirst()
      return row ? toClient(row) : undefined
    },

    async find(id: string): Promise<Client | undefined> {
      const row = await db.selectFrom('clients').selectAll().where('id', '=', id).executeTakeFirst()
      return row ? toClient(row) : undefined
    },

    async list(): Promise<Client[]> {
      const rows = await db.selectFrom('clients').selectAll().orderBy('created_at').orderBy('id').execute()
      return rows.map(toClient)
    },

    /** Up to `limit` clients, oldest first, after the position (created_at, id) of the previous page's last. */
    async listPage(query: {
      readonly after?: readonly [createdAt: number, id: string]
      readonly registration?: ClientRegistration
      readonly limit: number
    }): Promise<Client[]> {
      let select = db.selectFrom('clients').selectAll()
      if (query.registration !== undefined) select = select.where('registration', '=', query.registration)
      const after = query.after
      if (after !== undefined)
        select = select.where((eb) =>
          eb.or([eb('created_at', '>', after[0]), eb.and([eb('created_at', '=', after[0]), eb('id', '>', after[1])])]),
        )
      const rows = await select.orderBy('created_at').orderBy('id').limit(query.limit).execute()
      return rows.map(toClient)
    },

    /** Changes the given policies (absent ones stay as they are); false when there is no such client. */
    async setPolicies(id: string, policies: ClientPolicies): Promise<boolean> {
      const flag = (value: boolean | undefined) => (value === undefined ? undefined : value ? 1 : 0)
      const result = await db
        .updateTable('clients')
        .set({
          require_mfa: flag(policies.requireMfa),
          require_dpop: flag(policies.requireDpop),
          require_par: flag(policies.requirePar),
          backchannel_logout_uri: policies.backchannelLogoutUri,
          backchannel_logout_session_required: flag(policies.backchannelLogoutSessionRequired),
        })
        .where('id', '=', id)
        .executeTakeFirst()
      return result.numUpdatedRows === 1n
    },

    async remove(id: string): Promise<boolean> {
      await db.deleteFrom('client_logos').where('client_id', '=', id).execute()
      const result = await db.deleteFrom('clients').where('id', '=', id).executeTakeFirst()
      return result.numDeletedRows > 0n
    },

    /**
     * Stores what an operator may change after registration (clients/lifecycle.ts): name, URIs,
     * grant types, scopes and policies; the allowed APIs are replaced in the same transaction when
     * given. False when there is no such client.
     */
    async saveSettings(client: Client, apis?: readonly string[]): Promise<boolean> {
      const row = toRow(client, null)
      return db.transaction().execute(async (trx) => {
        const result = await trx
          .updateTable('clients')
          .set({
            name: row.name,
            redirect_uris: row.redirect_uris,
            post_logout_redirect_uris: row.post_logout_redirect_uris,
            grant_types: row.grant_types,
            scopes: row.scopes,
            introspect: row.introspect,
            introspect_apis: row.introspect_apis,
            require_mfa: row.require_mfa,
            require_dpop: row.require_dpop,
            require_par: row.require_par,
            backchannel_logout_uri: row.backchannel_logout_uri,
            backchannel_logout_session_required: row.backchannel_logout_session_required,
            metadata: row.metadata,
          })
          .where('id', '=', client.id)
          .executeTakeFirst()
        if (result.numUpdatedRows !== 1n) return false
        if (apis !== undefined) {
          await trx.deleteFrom('client_apis').where('client_id', '=', client.id).execute()
          if (apis.length > 0)
            await trx
              .insertInto('client_apis')
              .values(apis.map((api) => ({ client_id: client.id, api })))
              .execute()
        }
        return true
      })
    },

    /**
     * A new secret hash; the one it replaces stays valid until `previousExpiresAt` (null: ends at
     * once). Only when the current hash is still `expectedHash`: of two concurrent rotations one
     * wins, and the loser's secret is never shown. False when the client or its hash changed.
     */
    async rotateSecret(id: string, expectedHash: string, newHash: string, previousExpiresAt: number | null): Promise<boolean> {
      const result = await db
        .updateTable('clients')
        .set({
          secret_hash: newHash,
          previous_secret_hash: previousExpiresAt === null ? null : expectedHash,
          previous_secret_expires_at: previousExpiresAt,
        })
        .where('id', '=', id)
        .where('secret_hash', '=', expectedHash)
        .executeTakeFirst()
      return result.numUpdatedRows === 1n
    },

    /**
     * Deletes the client with everything it was given, in one transaction: its grants are revoked
     * with their access and refresh tokens, its client_credentials access tokens too, the users'
     * consents for it go. False when there is no such client.
     */
    async removeWithAccess(id: string, now: number): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        // The first statement writes: on SQLite the transaction takes the write lock at once.
        const result = await trx.deleteFrom('clients').where('id', '=', id).executeTakeFirst()
        if (result.numDeletedRows === 0n) return false
        await revokeGrantsIn(trx, now, (q) => q.where('client_id', '=', id))
        await trx
          .updateTable('access_tokens')
          .set({ revoked_at: now })
          .where('client_id', '=', id)
          .where('revoked_at', 'is', null)
          .execute()
        await trx.deleteFrom('consents').where('client_id', '=', id).execute()
        await trx.deleteFrom('client_logos').where('client_id', '=', id).execute()
        return true
      })
    },
  }
}

export type ClientsRepository = ReturnType<typeof clientsRepository>
