/**
 * Moving an installation to another database — SQLite to PostgreSQL, or one server to another —
 * whichever surface asks (`idp export` and `idp import` today): clients (secret hashes kept), users
 * (password hashes kept) with their second factors, linked identities and consents, APIs,
 * connections and the signing keys, as one versioned JSON document (db/repositories/transfer.ts
 * lists what moves and what does not).
 *
 * Sealed values stay sealed: signing keys, authenticator-app secrets, connection secrets and kept
 * upstream tokens open only under the exporting installation's key-encryption key, so the target
 * must use the same KEYS_DIR/kek.json (and KEYS_PASSPHRASE). The document carries a check value
 * of that KEK (an HMAC, which reveals nothing of it) and the import refuses a KEK that differs
 * before writing anything. The file itself holds password hashes and sealed keys: treat it like a
 * database backup.
 */
import { createHmac } from 'node:crypto'
import type { Deps } from '../deps.js'
import { openEnvelope } from '../keys/envelope.js'
import { actorLabel, type Actor } from '../model/actor.js'
import { checkTransferTables, InvalidTransferRow, TRANSFER_TABLES, type TransferTables } from '../db/repositories/transfer.js'

export const INSTALLATION_FORMAT = 'tessera-installation'
/** The document's own format; a newer one is refused by an older Tessera. */
export const INSTALLATION_VERSION = 1

/** An import that is not done; nothing was written. The message says why and what to do. */
export class ImportRefused extends Error {
  readonly code = 'import_refused'
  constructor(message: string) {
    super(message)
    this.name = 'ImportRefused'
  }
}

export interface InstallationDocument {
  readonly format: typeof INSTALLATION_FORMAT
  readonly version: typeof INSTALLATION_VERSION
  readonly exported_at: string
  readonly issuer: string
  /** The newest migration of the exporting database: the schema the rows belong to. */
  readonly schema: string
  /** HMAC-SHA256 of a fixed text under the KEK: the target proves it holds the same KEK. */
  readonly kek_check: string
  readonly counts: Readonly<Record<string, number>>
  readonly tables: TransferTables
}

export interface ImportOutcome {
  readonly counts: Readonly<Record<string, number>>
  /** Things that work differently here (another ISSUER…); the import happened. */
  readonly warnings: readonly string[]
}

type MoveDeps = Pick<Deps, 'config' | 'repos' | 'clock' | 'audit'>

const kekCheck = (kek: Buffer): string => createHmac('sha256', kek).update('tessera installation export v1').digest('base64url')

const countsOf = (tables: TransferTables): Record<string, number> =>
  Object.fromEntries(TRANSFER_TABLES.map((table) => [table, tables[table].length]))

/** Everything that moves, as one document; audited as installation_exported. `kek`: this installation's KEK. */
export async function exportInstallation(deps: MoveDeps, kek: Buffer, actor: Actor): Promise<InstallationDocument> {
  const tables = await deps.repos.transfer.read()
  const document: InstallationDocument = {
    format: INSTALLATION_FORMAT,
    version: INSTALLATION_VERSION,
    exported_at: new Date(deps.clock.now() * 1000).toISOString(),
    issuer: deps.config.issuer,
    schema: await deps.repos.transfer.schemaVersion(),
    kek_check: kekCheck(kek),
    counts: countsOf(tables),
    tables,
  }
  await deps.audit.record(
    'installation_exported',
    { detail: { actor: actorLabel(actor), users: tables.users.length, clients: tables.clients.length } },
    'installation exported (password hashes and sealed keys included)',
  )
  return document
}

/** The document's envelope, checked field by field (it is untrusted input). */
function checkDocument(raw: unknown): Omit<InstallationDocument, 'tables' | 'counts'> & { readonly tables: unknown } {
  const fields = (typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>
  if (fields['format'] !== INSTALLATION_FORMAT) throw new ImportRefused(`not a Tessera installation export (format ${INSTALLATION_FORMAT})`)
  const version = fields['version']
  if (version !== INSTALLATION_VERSION)
    throw new ImportRefused(
      typeof version === 'number' && version > INSTALLATION_VERSION
        ? `the export is of format version ${version}, newer than this Tessera reads (${INSTALLATION_VERSION}): import with the Tessera that exported it, or a newer one`
        : `unknown export format version ${JSON.stringify(version)}`,
    )
  const text = (name: string): string => {
    const value = fields[name]
    if (typeof value !== 'string') throw new ImportRefused(`the export has no ${name}`)
    return value
  }
  return {
    format: INSTALLATION_FORMAT,
    version: INSTALLATION_VERSION,
    exported_at: text('exported_at'),
    issuer: text('issuer'),
    schema: text('schema'),
    kek_check: text('kek_check'),
    tables: fields['tables'],
  }
}

/**
 * Imports a document into an empty database (no users, clients, APIs, connections or signing
 * keys: run it before the first server starts on the new database), in one transaction. Refused,
 * with nothing written, when the database is not empty, when the document is of a newer schema
 * than this Tessera, when a row does not fit its table, and when `kek` (the target's KEK) is not
 * the one the sealed keys were made under. Audited as installation_imported.
 */
export async function importInstallation(deps: MoveDeps, kek: Buffer, raw: unknown, actor: Actor): Promise<ImportOutcome> {
  const document = checkDocument(raw)
  const schema = await deps.repos.transfer.schemaVersion()
  if (document.schema > schema)
    throw new ImportRefused(
      `the export comes from a newer Tessera (schema ${document.schema}; this one has ${schema}): upgrade this one first`,
    )
  let tables: TransferTables
  try {
    tables = checkTransferTables(document.tables)
  } catch (error) {
    if (error instanceof InvalidTransferRow) throw new ImportRefused(`the export is damaged: ${error.message}`)
    throw error
  }
  const sameKek = "the KEK in KEYS_DIR is not the exporting installation's: copy its KEYS_DIR/kek.json here (with the same KEYS_PASSPHRASE)"
  if (document.kek_check !== kekCheck(kek))
    throw new ImportRefused(`${sameKek}; sealed signing keys and secrets cannot be opened otherwise`)
  for (const key of tables.signing_keys) {
    if (key['private_key'] === '') continue
    try {
      openEnvelope(kek, String(key['private_key']), String(key['kid']))
    } catch {
      throw new ImportRefused(`signing key ${String(key['kid'])} does not open: ${sameKek}`)
    }
  }
  const present = Object.entries(await deps.repos.transfer.counts()).filter(([, count]) => count > 0)
  if (present.length > 0)
    throw new ImportRefused(
      `the database is not empty (${present.map(([table, count]) => `${count} ${table}`).join(', ')}): import into a new database, before the server first starts on it`,
    )
  await deps.repos.transfer.write(tables, deps.clock.now())
  const counts = countsOf(tables)
  const warnings =
    document.issuer === deps.config.issuer
      ? []
      : [
          `ISSUER here (${deps.config.issuer}) is not the exporting installation's (${document.issuer}): relying parties must be pointed at the new issuer, and passkeys registered for ${new URL(document.issuer).hostname} do not work on another host`,
        ]
  await deps.audit.record(
    'installation_imported',
    {
      detail: {
        actor: actorLabel(actor),
        from: document.issuer,
        exportedAt: document.exported_at,
        users: counts['users'] ?? 0,
        clients: counts['clients'] ?? 0,
      },
    },
    'installation imported',
  )
  return { counts, warnings }
}
