/**
 * A database as versions before refresh-token generations left it: a grant whose refresh token
 * is an opaque value stored as one row of refresh_tokens, and no generation on the grant.
 */
import { hashSecret, randomToken } from '../../src/secrets.js'
import type { TestApp } from './test-app.js'

/** Turns a grant's family back into a stored token, which is returned (the generation tokens stop working). */
export async function issueLegacyRefreshToken(ctx: TestApp, grantId: string): Promise<string> {
  const db = ctx.deps.store.db
  const grant = await db.selectFrom('grants').select(['client_id', 'expires_at']).where('id', '=', grantId).executeTakeFirstOrThrow()
  const now = ctx.clock.now()
  const token = randomToken()
  await db
    .updateTable('grants')
    .set({ refresh_generation: null, refresh_issued_at: null, refresh_idle_expires_at: null })
    .where('id', '=', grantId)
    .execute()
  await db
    .insertInto('refresh_tokens')
    .values({
      token_hash: hashSecret(token),
      grant_id: grantId,
      client_id: grant.client_id,
      created_at: now,
      idle_expires_at: Math.min(now + ctx.deps.config.refreshTokenIdleTtl, grant.expires_at!),
      used_at: null,
    })
    .execute()
  return token
}
