import type { Db } from '../connect.js'
import type { CodeRow } from '../schema.js'

export interface AuthorizationCode {
  readonly codeHash: string
  readonly clientId: string
  readonly userId: string
  readonly sessionIdHash: string
  readonly redirectUri: string
  readonly scope: string
  readonly nonce: string | null
  readonly codeChallenge: string | null
  readonly authTime: number
  readonly createdAt: number
  readonly expiresAt: number
}

export interface StoredCode extends AuthorizationCode {
  readonly consumedAt: number | null
  readonly grantId: string | null
}

const toCode = (row: CodeRow): StoredCode => ({
  codeHash: row.code_hash,
  clientId: row.client_id,
  userId: row.user_id,
  sessionIdHash: row.session_id_hash,
  redirectUri: row.redirect_uri,
  scope: row.scope,
  nonce: row.nonce,
  codeChallenge: row.code_challenge,
  authTime: row.auth_time,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  consumedAt: row.consumed_at,
  grantId: row.grant_id,
})

export function codesRepository(db: Db) {
  return {
    async insert(code: AuthorizationCode): Promise<void> {
      await db
        .insertInto('authorization_codes')
        .values({
          code_hash: code.codeHash,
          client_id: code.clientId,
          user_id: code.userId,
          session_id_hash: code.sessionIdHash,
          redirect_uri: code.redirectUri,
          scope: code.scope,
          nonce: code.nonce,
          code_challenge: code.codeChallenge,
          auth_time: code.authTime,
          created_at: code.createdAt,
          expires_at: code.expiresAt,
          consumed_at: null,
          grant_id: null,
        })
        .execute()
    },

    async find(codeHash: string): Promise<StoredCode | undefined> {
      const row = await db.selectFrom('authorization_codes').selectAll().where('code_hash', '=', codeHash).executeTakeFirst()
      return row ? toCode(row) : undefined
    },
  }
}

export type CodesRepository = ReturnType<typeof codesRepository>
