/**
 * The tables an installation moves with (`idp export` / `idp import`, installation/move.ts): read
 * whole, written whole, on either dialect. Each table is described column by column; TypeScript
 * holds every description equal to its table in schema.ts, so a column added there cannot be left
 * out of a move by accident. Rows from a file are untrusted: every value is checked against its
 * column's kind before anything is written.
 *
 * What does not move, on purpose: sessions, grants, codes and tokens (users sign in again, clients
 * get new tokens), audit events (they stay in the old database and its backups), throttling
 * counters, registration tokens, pending sign-ins and the outbox (webhook deliveries not yet made
 * stay behind; the webhooks themselves move).
 */
import { sql } from 'kysely'
import type { Db } from '../connect.js'
import type { Database } from '../schema.js'

type Kind = 'text' | 'text?' | 'int' | 'int?'
type Columns<Table> = { readonly [Column in keyof Table]-?: Kind }

/** In the order rows are written (a table after the ones it points at). */
const TABLES = {
  apis: {
    identifier: 'text',
    name: 'text',
    scopes: 'text',
    access_token_ttl: 'int?',
    first_party_only: 'int',
    created_at: 'int',
  } satisfies Columns<Database['apis']>,
  clients: {
    id: 'text',
    name: 'text',
    secret_hash: 'text?',
    redirect_uris: 'text',
    post_logout_redirect_uris: 'text',
    grant_types: 'text',
    scopes: 'text',
    pkce_required: 'int',
    first_party: 'int',
    created_at: 'int',
    introspect: 'int',
    introspect_apis: 'text',
    require_mfa: 'int',
    registration: 'text',
    registration_token_hash: 'text?',
    metadata: 'text',
    refresh_at: 'int?',
    require_dpop: 'int',
    require_par: 'int',
    backchannel_logout_uri: 'text?',
    backchannel_logout_session_required: 'int',
    previous_secret_hash: 'text?',
    previous_secret_expires_at: 'int?',
  } satisfies Columns<Database['clients']>,
  client_apis: { client_id: 'text', api: 'text' } satisfies Columns<Database['client_apis']>,
  connections: {
    id: 'text',
    name: 'text',
    type: 'text',
    issuer: 'text',
    client_id: 'text',
    client_secret: 'text?',
    scopes: 'text',
    domains: 'text',
    trust_email: 'int',
    store_tokens: 'int',
    server_metadata: 'text',
    claim_mapping: 'text',
    disabled_at: 'int?',
    created_at: 'int',
  } satisfies Columns<Database['connections']>,
  users: {
    id: 'text',
    email: 'text',
    name: 'text?',
    password_hash: 'text',
    email_verified: 'int',
    disabled_at: 'int?',
    created_at: 'int',
    updated_at: 'int',
    roles: 'text',
    locale: 'text?',
  } satisfies Columns<Database['users']>,
  webauthn_credentials: {
    id: 'text',
    user_id: 'text',
    name: 'text',
    public_key: 'text',
    counter: 'int',
    transports: 'text',
    device_type: 'text',
    backed_up: 'int',
    aaguid: 'text',
    created_at: 'int',
    last_used_at: 'int?',
  } satisfies Columns<Database['webauthn_credentials']>,
  totp_factors: {
    user_id: 'text',
    secret: 'text',
    created_at: 'int',
    confirmed_at: 'int?',
    last_time_step: 'int?',
  } satisfies Columns<Database['totp_factors']>,
  recovery_codes: { code_hash: 'text', user_id: 'text', created_at: 'int', used_at: 'int?' } satisfies Columns<Database['recovery_codes']>,
  federated_identities: {
    id: 'text',
    connection_id: 'text',
    subject: 'text',
    user_id: 'text',
    email: 'text?',
    tokens: 'text?',
    created_at: 'int',
    last_used_at: 'int?',
  } satisfies Columns<Database['federated_identities']>,
  consents: {
    user_id: 'text',
    client_id: 'text',
    scope: 'text',
    created_at: 'int',
    updated_at: 'int',
  } satisfies Columns<Database['consents']>,
  signing_keys: {
    kid: 'text',
    alg: 'text',
    state: 'text',
    public_jwk: 'text',
    private_key: 'text',
    created_at: 'int',
    activated_at: 'int?',
    retired_at: 'int?',
    retires_at: 'int?',
  } satisfies Columns<Database['signing_keys']>,
  // The signing secret stays sealed under the KEK (bound to the webhook's id): it moves as it is.
  webhooks: {
    id: 'text',
    url: 'text',
    events: 'text',
    secret: 'text',
    disabled_at: 'int?',
    created_at: 'int',
  } satisfies Columns<Database['webhooks']>,
  // Client tokens are signed with the keys that move and live while their client does: a token
  // revoked on its own must stay revoked in the new database (model/access-token-id.ts).
  revoked_access_tokens: { jti: 'text', expires_at: 'int' } satisfies Columns<Database['revoked_access_tokens']>,
} as const

/** Values for columns added after an export was made, where null is not allowed (older exports lack them). */
const ADDED_COLUMN_DEFAULTS: Partial<Record<TransferTable, Readonly<Record<string, string | number>>>> = {
  clients: { introspect_apis: '[]' },
}

export type TransferTable = keyof typeof TABLES
export const TRANSFER_TABLES = Object.keys(TABLES) as TransferTable[]

export type TransferRow = Readonly<Record<string, string | number | null>>
export type TransferTables = Readonly<Record<TransferTable, readonly TransferRow[]>>

/** A row of the file that does not fit its table; the message names table, row and column. */
export class InvalidTransferRow extends Error {
  readonly code = 'invalid_transfer_row'
  constructor(message: string) {
    super(message)
    this.name = 'InvalidTransferRow'
  }
}

/** Rows written per statement: far below either dialect's limit on parameters (22 columns × 100). */
const BATCH = 100

/** Checks one untrusted row against its table: every column of the right kind; a nullable column
 * an older export lacks becomes null, an unknown column is refused. `index` < 0: a row we read. */
function checkRow(table: TransferTable, raw: unknown, index: number): TransferRow {
  const where = index < 0 ? table : `${table}[${index}]`
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new InvalidTransferRow(`${where} is not an object`)
  const given = raw as Record<string, unknown>
  const columns: Record<string, Kind> = TABLES[table]
  const unknown = Object.keys(given).find((column) => !(column in columns))
  if (unknown !== undefined) throw new InvalidTransferRow(`${where} has a column ${table} does not have: ${unknown}`)
  const row: Record<string, string | number | null> = {}
  for (const [column, kind] of Object.entries(columns)) {
    let value = given[column]
    if (value === undefined) value = kind.endsWith('?') ? null : ADDED_COLUMN_DEFAULTS[table]?.[column]
    // PostgreSQL may hand big integers over as strings (bigint): accept the digits.
    if (kind.startsWith('int') && typeof value === 'string' && /^-?\d{1,15}$/.test(value)) value = Number(value)
    const fits =
      (value === null && kind.endsWith('?')) ||
      (kind.startsWith('text') && typeof value === 'string') ||
      (kind.startsWith('int') && typeof value === 'number' && Number.isSafeInteger(value))
    if (!fits)
      throw new InvalidTransferRow(
        `${where}.${column} must be ${kind.startsWith('int') ? 'an integer' : 'a string'}${kind.endsWith('?') ? ' or null' : ''}`,
      )
    row[column] = value as string | number | null
  }
  return row
}

/** The tables of a document, each row checked; absent tables are empty. */
export function checkTransferTables(raw: unknown): TransferTables {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new InvalidTransferRow('tables is not an object')
  const given = raw as Record<string, unknown>
  const unknown = Object.keys(given).find((table) => !(TRANSFER_TABLES as string[]).includes(table))
  if (unknown !== undefined) throw new InvalidTransferRow(`unknown table ${unknown}`)
  const tables: Partial<Record<TransferTable, TransferRow[]>> = {}
  for (const table of TRANSFER_TABLES) {
    const rows = given[table] ?? []
    if (!Array.isArray(rows)) throw new InvalidTransferRow(`${table} is not a list`)
    tables[table] = rows.map((row: unknown, index) => checkRow(table, row, index))
  }
  return tables as TransferTables
}

/** What makes an installation: a fresh database holds none of these. */
export type InstallationCounts = Record<'users' | 'clients' | 'apis' | 'connections' | 'signing_keys', number>

export function transferRepository(db: Db) {
  return {
    /** The newest migration applied to the database (the schema the rows belong to). */
    async schemaVersion(): Promise<string> {
      const result = await sql<{ name: string }>`select name from kysely_migration order by name desc limit 1`.execute(db)
      return result.rows[0]?.name ?? ''
    },

    /** Every row of every moved table, in a stable order. */
    async read(): Promise<TransferTables> {
      const tables: Partial<Record<TransferTable, TransferRow[]>> = {}
      for (const table of TRANSFER_TABLES) {
        const columns = Object.keys(TABLES[table])
        const rows = await sql<
          Record<string, unknown>
        >`select ${sql.join(columns.map((column) => sql.ref(column)))} from ${sql.table(table)} order by ${sql.join(columns.map((column) => sql.ref(column)))}`.execute(
          db,
        )
        tables[table] = rows.rows.map((row) => checkRow(table, row, -1))
      }
      return tables as TransferTables
    },

    async counts(): Promise<InstallationCounts> {
      const count = async (table: keyof InstallationCounts) =>
        Number(
          (
            await db
              .selectFrom(table)
              .select((eb) => eb.fn.countAll<number>().as('n'))
              .executeTakeFirstOrThrow()
          ).n,
        )
      return {
        users: await count('users'),
        clients: await count('clients'),
        apis: await count('apis'),
        connections: await count('connections'),
        signing_keys: await count('signing_keys'),
      }
    },

    /**
     * Writes every row in one transaction (all or nothing), in dependency order, and starts the
     * signing-key generation counter so the key store of the first server loads them.
     */
    async write(tables: TransferTables, now: number): Promise<void> {
      await db.transaction().execute(async (trx) => {
        // The first statement writes: on SQLite the transaction takes the write lock at once.
        await trx
          .insertInto('key_store_state')
          .values({ id: 1, generation: 1, rotated_at: now })
          .onConflict((oc) => oc.column('id').doUpdateSet({ generation: 1, rotated_at: now }))
          .execute()
        for (const table of TRANSFER_TABLES) {
          const rows = tables[table]
          for (let start = 0; start < rows.length; start += BATCH)
            await trx
              .insertInto(table)
              .values(rows.slice(start, start + BATCH) as never)
              .execute()
        }
      })
    },
  }
}
