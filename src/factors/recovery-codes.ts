/**
 * Recovery codes: ten single-use codes of 80 random bits each (so a plain SHA-256 is a safe stored
 * form), shown once, accepted where an authenticator-app code is, regenerated as a set.
 */
import { randomBytes } from 'node:crypto'
import { hashSecret } from '../secrets.js'
import type { User } from '../model/user.js'
import { mailFactorChange, type FactorContext } from './context.js'

export const RECOVERY_CODE_COUNT = 10
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789'

/** 16 characters from a 31-letter alphabet without look-alikes (~79 bits), in groups of four. */
function newCode(): string {
  const bytes = randomBytes(32)
  let code = ''
  // Rejection sampling keeps every letter equally likely.
  for (const byte of bytes) {
    if (byte >= 248) continue
    code += ALPHABET[byte % ALPHABET.length]
    if (code.length === 16) break
  }
  return code.length === 16 ? code.match(/.{4}/g)!.join('-') : newCode()
}

/** What the user types, in the form it was hashed: lower case, no spaces or dashes. */
const canonical = (code: string) => code.toLowerCase().replace(/[\s-]/g, '')

export const looksLikeRecoveryCode = (code: string): boolean => /^[a-z2-9]{16}$/.test(canonical(code))

/** A new set (the old one stops working); the codes are returned once and only their hashes kept. */
export async function renewRecoveryCodes(context: FactorContext, user: User, mailUser: boolean): Promise<string[]> {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newCode)
  await context.repos.recoveryCodes.replace(
    user.id,
    codes.map((code) => hashSecret(`recovery:${canonical(code)}`)),
    context.clock.now(),
  )
  await context.audit.record('recovery_codes_renewed', { userId: user.id }, 'recovery codes made')
  if (mailUser) await mailFactorChange(context, user, 'recovery_codes_renewed')
  return codes
}

/** Uses a code up; the owner is told. */
export async function useRecoveryCode(context: FactorContext, user: User, code: string): Promise<boolean> {
  if (!looksLikeRecoveryCode(code)) return false
  if (!(await context.repos.recoveryCodes.consume(user.id, hashSecret(`recovery:${canonical(code)}`), context.clock.now()))) return false
  await context.audit.record('recovery_code_used', { userId: user.id }, 'recovery code used')
  await mailFactorChange(context, user, 'recovery_code_used')
  return true
}
