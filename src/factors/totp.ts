/**
 * Authenticator apps (TOTP, RFC 6238) through otplib: 160-bit secrets sealed under a key derived
 * from the key-encryption key, 6 digits every 30 s, one step of clock drift either way, and no
 * code accepted twice (the last accepted time step is stored; RFC 6238 §5.2).
 */
import { generateSecret, generateURI, verify } from 'otplib'
import { openEnvelope, sealEnvelope } from '../keys/envelope.js'
import type { User } from '../model/user.js'
import { mailFactorChange, relyingParty, type FactorContext } from './context.js'

/** One 30-second step back or forward: phones' clocks drift, codes are typed slowly. */
const TOLERANCE_SECONDS = 30

const associatedData = (userId: string) => `totp:${userId}`
const CODE = /^\d{6}$/

export interface TotpSetup {
  /** Base32, for typing into an app by hand. */
  readonly secret: string
  /** otpauth:// URI for the QR code. */
  readonly uri: string
}

/** A fresh secret awaiting its first code (replacing an unconfirmed one); null if the user already has a confirmed app. */
export async function beginTotpSetup(context: FactorContext, user: User): Promise<TotpSetup | null> {
  const secret = generateSecret({ length: 20 })
  const sealed = sealEnvelope(context.factorKey, Buffer.from(secret, 'utf8'), associatedData(user.id))
  if (!(await context.repos.totp.startSetup(user.id, sealed, context.clock.now()))) return null
  return { secret, uri: generateURI({ issuer: relyingParty(context).name, label: user.email, secret }) }
}

/** The pending setup's secret again (the setup page shows it until confirmed). */
export async function pendingTotpSetup(context: FactorContext, user: User): Promise<TotpSetup | null> {
  const factor = await context.repos.totp.find(user.id)
  if (!factor || factor.confirmedAt !== null) return null
  const secret = openEnvelope(context.factorKey, factor.sealedSecret, associatedData(user.id)).toString('utf8')
  return { secret, uri: generateURI({ issuer: relyingParty(context).name, label: user.email, secret }) }
}

/** The time step a code is valid for now, or null. */
async function matchingStep(context: FactorContext, sealedSecret: string, userId: string, code: string): Promise<number | null> {
  const token = code.replace(/\s/g, '')
  if (!CODE.test(token)) return null
  const secret = openEnvelope(context.factorKey, sealedSecret, associatedData(userId)).toString('utf8')
  const result = await verify({ secret, token, epoch: context.clock.now(), epochTolerance: TOLERANCE_SECONDS })
  return result.valid && 'timeStep' in result ? result.timeStep : null
}

/** Confirms a pending setup with a current code: from now on a factor. */
export async function confirmTotp(context: FactorContext, user: User, code: string): Promise<boolean> {
  const factor = await context.repos.totp.find(user.id)
  if (!factor || factor.confirmedAt !== null) return false
  const step = await matchingStep(context, factor.sealedSecret, user.id, code)
  if (step === null || !(await context.repos.totp.acceptTimeStep(user.id, step, context.clock.now(), true))) return false
  await context.audit.record('factor_added', { userId: user.id, detail: { factor: 'totp' } }, 'authenticator app set up')
  await mailFactorChange(context, user, 'totp_added')
  return true
}

/** A sign-in code: valid now and never used before. */
export async function verifyTotp(context: FactorContext, userId: string, code: string): Promise<boolean> {
  const factor = await context.repos.totp.find(userId)
  if (!factor || factor.confirmedAt === null) return false
  const step = await matchingStep(context, factor.sealedSecret, userId, code)
  return step !== null && (await context.repos.totp.acceptTimeStep(userId, step, context.clock.now(), false))
}

export async function removeTotp(context: FactorContext, user: User): Promise<boolean> {
  const factor = await context.repos.totp.find(user.id)
  if (!(await context.repos.totp.remove(user.id))) return false
  if (factor?.confirmedAt === null) return true
  await context.audit.record('factor_removed', { userId: user.id, detail: { factor: 'totp' } }, 'authenticator app removed')
  await mailFactorChange(context, user, 'totp_removed')
  return true
}
