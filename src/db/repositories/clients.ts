import type { Db } from '../connect.js'
import type { ClientRow } from '../schema.js'
import type { Client, ClientPolicies, ClientRegistration, GrantType } from '../../model/client.js'

const REGISTRATIONS: readonly ClientRegistration[] = ['cli', 'dynamic', 'metadata_document']

export function toClient(row: ClientRow): Client {
  return {
    id: row.id,
    name: row.name,
    secretHash: row.secret_hash,
    redirectUris: JSON.parse(row.redirect_uris) as string[],
    postLogoutRedirectUris: JSON.parse(row.post_logout_redirect_uris) as string[],
    grantTypes: JSON.parse(row.grant_types) as GrantType[],
    scopes: JSON.parse(row.scopes) as string[],
    pkceRequired: row.pkce_required === 1,
    firstParty: row.first_party === 1,
    introspect: row.introspect === 1,
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
    redirect_uris: JSON.stringify(client.redirectUris),
    post_logout_redirect_uris: JSON.stringify(client.postLogoutRedirectUris),
    grant_types: JSON.stringify(client.grantTypes),
    scopes: JSON.stringify(client.scopes),
    pkce_required: client.pkceRequired ? 1 : 0,
    first_party: client.firstParty ? 1 : 0,
    introspect: client.introspect ? 1 : 0,
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
      const result = await db.deleteFrom('clients').where('id', '=', id).executeTakeFirst()
      return result.numDeletedRows > 0n
    },
  }
}

export type ClientsRepository = ReturnType<typeof clientsRepository>
